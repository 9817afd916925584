/** The release of this build, as health checks, OpenAPI and attestation results report it. */
export const version = '0.1.0';
