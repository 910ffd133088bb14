/**
 * Assets (SPEC.md section A): files a job reads through `ctx.assets`, stored on the master by the SHA-256 of
 * their bytes and fetched by volunteers over plain HTTP, so browsers, proxies and the page's own cache can
 * keep them. Defined once here for the REST routes, the job body, the `job` frame and the clients.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Limits } from '../limits.ts';

/** Where assets live on the master: `PUT`, `GET` and `HEAD` of `${ASSETS_PATH}/<sha256>`. */
export const ASSETS_PATH = '/api/assets';

/** The URL path of one asset. */
export function assetPath(sha256: string): string {
  return `${ASSETS_PATH}/${sha256}`;
}

/** Lowercase hex SHA-256: what names an asset. */
export const SHA256_PATTERN = '^[0-9a-f]{64}$';
export const Sha256Schema = Type.String({ pattern: SHA256_PATTERN, description: 'lowercase hex SHA-256 of the bytes' });

/** What job code calls an asset: `ctx.assets.bytes('model.wasm')`. */
export const ASSET_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$';

/** A job body's assets: name → sha256 of bytes stored with `PUT /api/assets/<sha256>`. */
export const JobAssetsSchema = Type.Record(Type.String({ pattern: ASSET_NAME_PATTERN }), Sha256Schema, {
  // A name that does not match the pattern is refused, not let through unchecked.
  additionalProperties: false,
  maxProperties: Limits.maxAssetsPerJob,
  description: 'name → sha256 of an asset stored on this master (PUT /api/assets/<sha256>); job code reads it as ctx.assets.bytes(name)',
});
export type JobAssets = Static<typeof JobAssetsSchema>;

/** One asset of a job as the master keeps it and tells volunteers (the `job` frame, the job summary). */
export const AssetRefSchema = Type.Object({
  name: Type.String({ pattern: ASSET_NAME_PATTERN }),
  sha256: Sha256Schema,
  size: Type.Integer({ minimum: 0 }),
});
export type AssetRef = Static<typeof AssetRefSchema>;

export const AssetParamsSchema = Type.Object({ sha256: Sha256Schema });

/** The reply to `PUT /api/assets/<sha256>`: 201 when stored now, 200 when it was there already. */
export const AssetStoredSchema = Type.Object({
  sha256: Sha256Schema,
  size: Type.Integer({ minimum: 0 }),
  created: Type.Boolean(),
});
export type AssetStored = Static<typeof AssetStoredSchema>;
