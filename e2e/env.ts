// Where the e2e suite's headless server listens and the token it is started with (fixed, so
// the specs can present it; the server only listens on 127.0.0.1).
export const port = Number(process.env.EORA_E2E_PORT ?? 47811);
export const token = 'e2e-token-0123456789abcdef012345'; // 32 characters of [A-Za-z0-9_-]
export const baseURL = `http://127.0.0.1:${port}`;

/** The page with the token: the server sets its cookie, the client keeps it in sessionStorage. */
export const appPath = `/?token=${token}`;

/** What the bundled model (resources/models/tinystories-656k) looks like. */
export const bundled = {
  name: 'tinystories-656k',
  linearCount: 14,
} as const;

/** The runs folder the e2e server uses (EORA_RUNS_DIR), emptied before the suite. */
export const runsDir = process.env.EORA_E2E_RUNS ?? `${process.env.TMPDIR ?? '/tmp'}/eora-e2e-runs`;
