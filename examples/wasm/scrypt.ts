/**
 * A job that uses a WebAssembly library from npm: hash-wasm's scrypt (browsers' WebCrypto has no scrypt).
 * hash-wasm carries its WebAssembly inside its JavaScript (base64), so the bundle `barnraise` makes holds
 * everything: the volunteer's sandbox fetches nothing, it only compiles WebAssembly, which its
 * Content-Security-Policy allows ('wasm-unsafe-eval').
 */
import { scrypt } from 'hash-wasm';
import { SCRYPT, type Credential } from './params.ts';

/** The derived key, in hex. */
export default async function deriveKey({ password, salt }: Credential): Promise<string> {
  return scrypt({ password, salt, ...SCRYPT, outputType: 'hex' });
}
