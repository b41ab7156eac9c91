import { SUB_RESOURCES, type StorageOperation } from '@obsq/storage';
import { S3Error } from '../errors/index.js';
import type { RequestContext } from './requestContext.js';

/** Sub-resources the routes below understand; any other one is answered `NotImplemented`. */
const HANDLED = new Set(['uploads', 'uploadid', 'partnumber', 'versionid', 'location']);

/**
 * Maps method + address + query to an operation (S3 REST routing). Throws `NotImplemented` for
 * sub-resources we do not serve (acl, tagging, ...) and `MethodNotAllowed` for the rest.
 */
export function resolveOperation(ctx: RequestContext): StorageOperation {
  const { bucket, key } = ctx.address;
  const m = ctx.method;
  if (ctx.has('apiversion') && m === 'HEAD' && key === undefined) return 'GetApiVersion';
  for (const [name] of ctx.query) {
    const lower = name.toLowerCase();
    if (SUB_RESOURCES.has(lower) && !HANDLED.has(lower) && !lower.startsWith('response-')) {
      throw new S3Error('NotImplemented', `The ${name} sub-resource is not implemented by devstack.`);
    }
  }
  if (bucket === undefined) {
    if (m === 'GET') return 'ListBuckets';
    throw new S3Error('MethodNotAllowed');
  }
  if (key === undefined) {
    switch (m) {
      case 'HEAD':
        return 'HeadBucket';
      case 'PUT':
        return 'CreateBucket';
      case 'DELETE':
        return 'DeleteBucket';
      case 'GET':
        if (ctx.has('uploads')) return 'ListMultipartUploads';
        if (ctx.has('location')) return 'GetBucketLocation';
        return ctx.q('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects';
      default:
        throw new S3Error('MethodNotAllowed');
    }
  }
  const hasUpload = ctx.has('uploadId');
  const copy = ctx.ext('copy-source') !== undefined;
  switch (m) {
    case 'PUT':
      if (hasUpload || ctx.has('partNumber')) return copy ? 'UploadPartCopy' : 'UploadPart';
      return copy ? 'CopyObject' : 'PutObject';
    case 'GET':
      return hasUpload ? 'ListParts' : 'GetObject';
    case 'HEAD':
      return 'HeadObject';
    case 'DELETE':
      return hasUpload ? 'AbortMultipartUpload' : 'DeleteObject';
    case 'POST':
      if (ctx.has('uploads')) return 'InitiateMultipartUpload';
      if (hasUpload) return 'CompleteMultipartUpload';
      throw new S3Error('MethodNotAllowed');
    default:
      throw new S3Error('MethodNotAllowed');
  }
}
