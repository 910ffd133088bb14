/** True when `serverDir` has a build (dist/cli.js) newer than every source file it is made from. */
export function buildIsCurrent(serverDir: string): boolean;
/** The CLI module to import from the server package at `serverDir`: the build when it is current. */
export function cliEntry(serverDir: string): { file: string; built: boolean };
