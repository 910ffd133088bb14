/** Python jobs (SPEC.md section Y): what the master and the volunteers agree on. */

/**
 * The asset names under which a Python job carries Pyodide's files (the master adds them, Y3). The page
 * tells Python's download from other assets by these names.
 */
export const PYODIDE_ASSET_NAMES = ['pyodide.mjs', 'pyodide.asm.mjs', 'pyodide.asm.wasm', 'python_stdlib.zip', 'pyodide-lock.json'] as const;

export const isPyodideAsset = (name: string): boolean => (PYODIDE_ASSET_NAMES as readonly string[]).includes(name);
