import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ErrorBody } from './api-schemas.js';

/** The scoped Fastify instance route modules register on: TypeBox-typed, authenticated. */
export type RouteApp = FastifyInstance<any, any, any, FastifyBaseLogger, TypeBoxTypeProvider>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The `{code, message}` error responses every authenticated route can give. */
export const ERROR_RESPONSES = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody } as const;
