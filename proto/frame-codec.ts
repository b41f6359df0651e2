import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import { PcgError } from './errors.js';
import { FRAME_SCHEMAS, type Frame, type FrameType } from './schemas/frames.js';

/** Compiled once per process: one validator per frame type. */
const VALIDATORS = new Map<string, TypeCheck<TSchema>>(
  Object.entries(FRAME_SCHEMAS).map(([type, schema]) => [type, TypeCompiler.Compile(schema)]),
);

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeFrame(frame: Frame): Uint8Array {
  return encoder.encode(JSON.stringify(frame));
}

/**
 * Decodes and validates an opened frame's plaintext. Throws PCG_ERR_FRAME_INVALID naming the
 * first offending path; the frame was authentic, so the caller answers with an error frame and
 * keeps the connection.
 */
export function decodeFrame(plaintext: Uint8Array, allowed?: readonly FrameType[]): Frame {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(plaintext));
  } catch {
    throw new PcgError('PCG_ERR_FRAME_INVALID', 'frame is not UTF-8 JSON');
  }
  return validateFrame(value, allowed);
}

export function validateFrame(value: unknown, allowed?: readonly FrameType[]): Frame {
  const type = typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
  if (typeof type !== 'string') throw new PcgError('PCG_ERR_FRAME_INVALID', 'frame has no string "type"');
  const check = VALIDATORS.get(type);
  if (!check || (allowed && !allowed.includes(type as FrameType))) {
    throw new PcgError('PCG_ERR_FRAME_INVALID', `frame type "${type.slice(0, 64)}" is not accepted here`);
  }
  if (!check.Check(value)) {
    const first = check.Errors(value).First();
    throw new PcgError('PCG_ERR_FRAME_INVALID', `${type} frame: ${first ? `${first.path || '/'} ${first.message}` : 'invalid'}`);
  }
  return value as Frame;
}
