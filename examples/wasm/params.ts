/** scrypt's cost parameters, shared by the job and by the local spot check. */
export const SCRYPT = {
  /** CPU and memory cost N: 2^14, as recommended for interactive logins (16 MiB, about 70 ms per key in WebAssembly). */
  costFactor: 16_384,
  blockSize: 8,
  parallelism: 1,
  /** Bytes of key derived. */
  hashLength: 32,
} as const;

/** One task's input: a password and its salt. */
export interface Credential {
  password: string;
  salt: string;
}
