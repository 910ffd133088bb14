/** Python jobs (SPEC.md section Y): what the master and the volunteers agree on. */

/** The first line of every generated Python job module: how a job's language is told from its code. */
export const PYTHON_MARKER = '// barnraise:python-job';

/**
 * The asset names under which a Python job carries Pyodide's files (the master adds them, Y3). The page
 * tells Python's download from other assets by these names.
 */
export const PYODIDE_FILE_NAMES = ['pyodide.mjs', 'pyodide.asm.mjs', 'pyodide.asm.wasm', 'python_stdlib.zip', 'pyodide-lock.json'] as const;

/**
 * The memory snapshot of an interpreter just started (gzipped), made once by the master from the files above:
 * a volunteer starts each interpreter from it instead of initialising CPython (Y4). A master that could not
 * make one sends none.
 */
export const PYODIDE_SNAPSHOT_NAME = 'pyodide-snapshot.gz';

/** Every asset name a Python job may carry for Pyodide; a job may not give its own assets these names. */
export const PYODIDE_ASSET_NAMES = [...PYODIDE_FILE_NAMES, PYODIDE_SNAPSHOT_NAME] as const;

export const isPyodideAsset = (name: string): boolean => (PYODIDE_ASSET_NAMES as readonly string[]).includes(name);
