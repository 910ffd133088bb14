/**
 * Assets over HTTP (SPEC.md section A): `PUT /api/assets/<sha256>` stores bytes for the operator; `GET` and
 * `HEAD` serve them to anyone, as job code is served to anyone who volunteers (rule A3), immutable and
 * cacheable by browsers and proxies, so a volunteer fetches each once and a CDN can stand in front.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { Readable } from 'node:stream';
import { AssetParamsSchema, AssetStoredSchema } from '@barnraise/shared';
import type { AssetStore } from '../assets/store.ts';
import { Tag } from '../docs/tags.ts';
import { ApiError, errorResponses } from '../errors.ts';
import { Access } from '../security/access.ts';

export interface AssetRoutesOptions {
  assets: AssetStore;
  /** Told the bytes of every asset response sent in full (barnraise_asset_bytes_sent_total). */
  sent(bytes: number): void;
}

/** A year, and never revalidated: an asset's URL is the hash of its bytes, so they cannot change. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
const tags = [Tag.assets];
const binary = { type: 'string', format: 'binary' } as const;

/** An ETag is the hash in quotes; If-None-Match may list several, or be `*`. */
function matches(ifNoneMatch: string | undefined, sha256: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.trim() === '*' || ifNoneMatch.split(',').some((t) => t.trim().replace(/^W\//, '') === `"${sha256}"`);
}

export const assetRoutes: FastifyPluginAsyncTypebox<AssetRoutesOptions> = async (app, { assets, sent }) => {
  // The body of a PUT is the asset itself, whatever its type (curl -T sends none): streamed to disk by
  // the store, never parsed or held whole in memory, and not subject to the app's JSON body limit.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

  app.put(
    '/assets/:sha256',
    {
      schema: {
        operationId: 'putAsset',
        summary: 'Store an asset by the SHA-256 of its bytes',
        description:
          'The body is the asset\'s bytes (any Content-Type), streamed to the master\'s disk and kept only if their SHA-256 is the one in the URL. 201 when stored, 200 when this master had it already (the bytes are still checked). A job names it in `assets: { name: sha256 }`. Check first with `HEAD` to skip uploading what is there.',
        tags,
        params: AssetParamsSchema,
        body: Type.Unsafe<Readable>({ description: 'the asset\'s bytes', content: { 'application/octet-stream': { schema: binary } } }),
        response: {
          200: AssetStoredSchema,
          201: AssetStoredSchema,
          ...errorResponses('BAD_REQUEST', 'PAYLOAD_TOO_LARGE', 'ASSET_HASH_MISMATCH', 'STORE_FULL'),
        },
      },
      // The body is a stream: nothing for a JSON schema to check (the store checks its hash and size).
      validatorCompiler: (route) => (route.httpPart === 'body' ? () => true : app.validatorCompiler!(route)),
    },
    async (req, reply) => {
      const length = req.headers['content-length'];
      // No body at all is the empty asset.
      const body = (req.body as Readable | undefined) ?? Readable.from([]);
      const stored = await assets.put(req.params.sha256, body, length === undefined ? undefined : Number(length));
      return reply.code(stored.created ? 201 : 200).send(stored);
    },
  );

  const headers = (sha256: string, size: number) => ({ 'cache-control': IMMUTABLE, etag: `"${sha256}"`, 'content-length': String(size), 'content-type': 'application/octet-stream' });

  app.get(
    '/assets/:sha256',
    {
      config: { access: Access.public },
      exposeHeadRoute: false,
      schema: {
        operationId: 'getAsset',
        summary: 'An asset\'s bytes (public, immutable)',
        description:
          'Public, as job code is to anyone who volunteers (SPEC.md A3): volunteers fetch the assets their jobs name from here. Cached for a year as immutable, ETag the hash (If-None-Match gives 304). `HEAD` answers the same headers without the bytes, or 404.',
        tags,
        params: AssetParamsSchema,
        response: {
          200: { description: 'the asset\'s bytes', content: { 'application/octet-stream': { schema: binary } } },
          304: { description: 'Not Modified: the bytes the client holds are the asset', type: 'null' },
          ...errorResponses('BAD_REQUEST', 'ASSET_NOT_FOUND'),
        },
      },
    },
    async (req, reply) => {
      const { sha256 } = req.params;
      const asset = await assets.open(sha256);
      if (!asset) throw new ApiError('ASSET_NOT_FOUND');
      if (matches(req.headers['if-none-match'], sha256)) {
        await asset.close();
        return reply.code(304).headers({ 'cache-control': IMMUTABLE, etag: `"${sha256}"` }).send();
      }
      reply.headers(headers(sha256, asset.size));
      reply.raw.once('finish', () => sent(asset.size));
      reply.raw.once('close', () => void asset.close());
      return reply.send(asset.stream());
    },
  );

  app.head('/assets/:sha256', { config: { access: Access.public }, schema: { hide: true, params: AssetParamsSchema } }, async (req, reply) => {
    const size = await assets.size(req.params.sha256);
    if (size === undefined) return reply.code(404).send();
    return reply.headers(headers(req.params.sha256, size)).send();
  });
};
