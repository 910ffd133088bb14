/** [Y1-Y3] A submitted Python job as the JavaScript job it runs as: checked, wrapped, with Pyodide among its assets. */
import type { CreateJobBody } from '@barnraise/shared';
import { Limits, PYODIDE_ASSET_NAMES } from '@barnraise/shared';
import type { AssetStore } from '../assets/store.ts';
import { ApiError } from '../errors.ts';
import { checkPythonCode } from './check.ts';
import { isWheel, pyodideNameClash, pythonJobModule } from './job.ts';
import { pyodideAssets } from './pyodide.ts';

/** `body` itself for a JavaScript job; for a Python one, the job that runs it (or a 4xx saying what is wrong). */
export async function asJavaScriptJob(body: CreateJobBody, assets: AssetStore | undefined): Promise<CreateJobBody> {
  if (body.language !== 'python') return body;
  // Pyodide's assets (the first time: its snapshot made on a thread) while the check runs on another.
  const pyodideReady = assets ? pyodideAssets(assets) : undefined;
  pyodideReady?.catch(() => undefined);
  const problem = await checkPythonCode(body.code);
  if (problem) throw new ApiError('BAD_CODE', problem);
  const own = body.assets ?? {};
  const clash = pyodideNameClash(Object.keys(own));
  if (clash) throw new ApiError('BAD_REQUEST', clash);
  if (Object.keys(own).length + PYODIDE_ASSET_NAMES.length > Limits.maxAssetsPerJob) {
    throw new ApiError('BAD_REQUEST', `a Python job may name at most ${Limits.maxAssetsPerJob - PYODIDE_ASSET_NAMES.length} assets (Pyodide takes ${PYODIDE_ASSET_NAMES.length})`);
  }
  if (!assets) throw new ApiError('UNKNOWN_ASSET', 'this master keeps no assets, and Python jobs need Pyodide as assets');
  const pyodide = await pyodideReady!;
  const { language: _, ...rest } = body;
  return {
    ...rest,
    code: pythonJobModule(body.code, pyodide, Object.keys(own).filter(isWheel)),
    assets: { ...own, ...pyodide },
  };
}
