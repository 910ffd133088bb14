/**
 * Writes each page's Content-Security-Policy `<meta>` from the one definition in shared/src/csp.ts, so the
 * built page carries the same policy the master sends as a header (a browser enforces both). The compute
 * sandbox's meta is written by build/sandbox.ts, which knows its inline script's hash.
 */
import type { Plugin } from 'vite';
import { cspMetaText, DashboardPolicy, PagePolicy, type CspDirectives } from '@barnraise/shared';

/** The policy of each HTML entry of the build, by file name. */
const POLICY_OF_PAGE: Record<string, CspDirectives> = { 'index.html': PagePolicy, 'dashboard.html': DashboardPolicy };

/** Adds the CSP `<meta>` at the top of `<head>` of every page that has a policy, and fails the build for one that has none. */
export function pagePolicies(): Plugin {
  return {
    name: 'barnraise-page-policies',
    transformIndexHtml(_html, ctx) {
      const page = ctx.filename.split(/[\\/]/).pop()!;
      const policy = POLICY_OF_PAGE[page];
      if (!policy) throw new Error(`${page} has no Content-Security-Policy: add it to shared/src/csp.ts and build/csp.ts`);
      return [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: cspMetaText(policy) }, injectTo: 'head-prepend' }];
    },
  };
}
