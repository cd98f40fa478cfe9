// Errors cross both transports as plain `{ code, message }`. No zod here: the renderer imports
// this file without pulling in the schemas.

export type ErrorCode = 'invalid_params' | 'unknown_method' | 'cancelled' | 'engine' | 'unauthorized';

export interface WireError {
  code: ErrorCode;
  message: string;
}

export class ContractError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ContractError';
  }
}

export function toWireError(error: unknown): WireError {
  if (error instanceof ContractError) return { code: error.code, message: error.message };
  if (error instanceof Error) return { code: 'engine', message: error.message };
  return { code: 'engine', message: String(error) };
}
