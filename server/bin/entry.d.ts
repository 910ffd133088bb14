/** The current build's directory (dist/<id>) of the server package at `serverDir`, or null when there is none current. */
export function currentBuild(serverDir: string): string | null;
/** True when `env` asks for the TypeScript sources even with a current build (BARNRAISE_FROM_SOURCE=1). */
export function fromSource(env?: NodeJS.ProcessEnv): boolean;
/** The CLI module to import from the server package at `serverDir`: the build when it is current. */
export function cliEntry(serverDir: string, env?: NodeJS.ProcessEnv): { file: string; built: boolean };
