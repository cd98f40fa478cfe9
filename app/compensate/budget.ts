// Rank allocation under a global adapter budget. The implementation lives in
// app/contract/rank-budget.ts (pure TypeScript) so the renderer's rank explorer can run it too.
export * from '../contract/rank-budget.js';
