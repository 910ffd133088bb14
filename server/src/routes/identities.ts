/** Operator routes for volunteer identities (SPEC.md section V): list, read, ban, vouch, reinstate. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { BanBodySchema, IdentityPageSchema, IdentityParamsSchema, IdentityRowSchema, PageQuerySchema } from '@barnraise/shared';
import { Tag } from '../docs/tags.ts';
import { errorResponses } from '../errors.ts';

const tags = [Tag.operator];
const notFound = errorResponses('BAD_REQUEST', 'IDENTITY_NOT_FOUND');

export const identityRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const view = app.operator;

  const listSchema = {
    operationId: 'listIdentities',
    summary: 'Volunteer identities, newest first, with their trust and checks',
    tags,
    querystring: PageQuerySchema,
    response: { 200: IdentityPageSchema, ...errorResponses('BAD_REQUEST') },
  };
  app.get('/identities', { schema: listSchema }, async (req) => view.identitiesPage(req.query.offset ?? 0, req.query.limit ?? 50));

  const getSchema = { operationId: 'getIdentity', summary: 'One volunteer identity', tags, params: IdentityParamsSchema, response: { 200: IdentityRowSchema, ...notFound } };
  app.get('/identities/:id', { schema: getSchema }, async (req) => view.identity(req.params.id));

  const banSchema = {
    operationId: 'banIdentity',
    summary: 'Ban an identity: its connections close, its unsettled results go back for validation',
    tags,
    params: IdentityParamsSchema,
    body: BanBodySchema,
    response: { 200: IdentityRowSchema, ...notFound },
  };
  app.post('/identities/:id/ban', { schema: banSchema }, async (req) => view.ban(req.params.id, req.body?.reason ?? 'banned by the operator'));

  const vouchSchema = {
    operationId: 'vouchForIdentity',
    summary: 'Vouch for an identity (the operator\'s own machine): trusted from now on, a ban lifted',
    tags,
    params: IdentityParamsSchema,
    response: { 200: IdentityRowSchema, ...notFound },
  };
  app.post('/identities/:id/vouch', { schema: vouchSchema }, async (req) => view.vouch(req.params.id));

  const reinstateSchema = {
    operationId: 'reinstateIdentity',
    summary: 'Give an identity a fresh start: untrusted, not banned',
    tags,
    params: IdentityParamsSchema,
    response: { 200: IdentityRowSchema, ...notFound },
  };
  app.post('/identities/:id/reinstate', { schema: reinstateSchema }, async (req) => view.reinstate(req.params.id));
};
