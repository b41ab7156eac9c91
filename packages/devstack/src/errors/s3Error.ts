import { ObsqError } from '@obsq/shared';

/** Every error code the devstack answers with, mapped to its HTTP status and default message. */
export const S3_ERRORS = {
  AccessDenied: [403, 'Access Denied'],
  AuthorizationHeaderMalformed: [400, 'The authorization header is malformed.'],
  BadDigest: [400, 'The Content-MD5 you specified did not match what was received.'],
  BucketAlreadyOwnedByYou: [409, 'Your previous request to create the named bucket succeeded and you already own it.'],
  BucketNotEmpty: [409, 'The bucket you tried to delete is not empty.'],
  EntityTooLarge: [400, 'Your proposed upload exceeds the maximum allowed object size.'],
  EntityTooSmall: [400, 'Your proposed upload is smaller than the minimum allowed object size.'],
  IncompleteBody: [400, 'You did not provide the number of bytes specified by the Content-Length HTTP header.'],
  InternalError: [500, 'We encountered an internal error. Please try again.'],
  InvalidAccessKeyId: [403, 'The AWS Access Key Id you provided does not exist in our records.'],
  InvalidArgument: [400, 'Invalid Argument'],
  InvalidBucketName: [400, 'The specified bucket is not valid.'],
  InvalidDigest: [400, 'The Content-MD5 you specified is not valid.'],
  InvalidPart: [400, 'One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part\'s entity tag.'],
  InvalidPartOrder: [400, 'The list of parts was not in ascending order. Parts must be ordered by part number.'],
  InvalidRange: [416, 'The requested range is not satisfiable'],
  InvalidRequest: [400, 'Invalid Request'],
  KeyTooLongError: [400, 'Your key is too long.'],
  MalformedXML: [400, 'The XML you provided was not well-formed or did not validate against our published schema.'],
  MethodNotAllowed: [405, 'The specified method is not allowed against this resource.'],
  MissingContentLength: [411, 'You must provide the Content-Length HTTP header.'],
  NoSuchBucket: [404, 'The specified bucket does not exist.'],
  NoSuchKey: [404, 'The specified key does not exist.'],
  NoSuchUpload: [404, 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.'],
  NoSuchVersion: [404, 'The specified version does not exist.'],
  NotImplemented: [501, 'A header or query you provided implies functionality that is not implemented.'],
  PreconditionFailed: [412, 'At least one of the preconditions you specified did not hold.'],
  RequestTimeTooSkewed: [403, 'The difference between the request time and the server\'s time is too large.'],
  ServiceUnavailable: [503, 'Service is unable to handle request.'],
  SignatureDoesNotMatch: [403, 'The request signature we calculated does not match the signature you provided. Check your key and signing method.'],
  SlowDown: [503, 'Please reduce your request rate.'],
  XAmzContentSHA256Mismatch: [400, 'The provided \'x-amz-content-sha256\' header does not match what was computed.'],
} as const satisfies Record<string, readonly [number, string]>;

/** A known error code; see {@link S3_ERRORS}. */
export type S3ErrorCode = keyof typeof S3_ERRORS;

/**
 * A protocol error the devstack answers with as `<Error>` XML (or bare headers for HEAD).
 * `s3Code` is the wire code (`NoSuchUpload`); `code` stays the obsq code `OBSQ_STORAGE`.
 */
export class S3Error extends ObsqError {
  readonly s3Code: string;
  readonly status: number;
  /** Extra elements appended inside `<Error>` (e.g. `StringToSign` is NOT put here: secrets). */
  readonly extra: Record<string, string>;

  constructor(
    code: S3ErrorCode | { code: string; status: number },
    message?: string,
    options: { cause?: unknown; extra?: Record<string, string> } = {},
  ) {
    const [wireCode, status, defaultMessage] =
      typeof code === 'string' ? [code, S3_ERRORS[code][0], S3_ERRORS[code][1]] : [code.code, code.status, code.code];
    super('OBSQ_STORAGE', message ?? defaultMessage, { cause: options.cause, permanent: status < 500 });
    this.name = 'S3Error';
    this.s3Code = wireCode;
    this.status = status;
    this.extra = options.extra ?? {};
  }
}

/** Default message for a code the catalogue knows, else the code itself. */
export function defaultMessageFor(code: string): string {
  return code in S3_ERRORS ? S3_ERRORS[code as S3ErrorCode][1] : code;
}
