import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

/** Credentials of the UI (`OBSQ_UI_USER` / `OBSQ_UI_PASSWORD`). */
export interface UiCredentials {
  user: string;
  password: string;
}

// Hashing both sides first gives equal-length buffers, so the comparison time does not depend on
// how much of the password matched, nor reveal its length.
const digest = (s: string) => createHash('sha256').update(s).digest();

/** Express middleware: HTTP Basic authentication against one user and password. */
export function basicAuth(creds: UiCredentials): (req: Request, res: Response, next: NextFunction) => void {
  const expected = digest(`${creds.user}:${creds.password}`);
  return (req, res, next) => {
    const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(req.headers.authorization ?? '');
    const given = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
    if (m && timingSafeEqual(digest(given), expected)) return next();
    res.set('WWW-Authenticate', 'Basic realm="obsq", charset="UTF-8"').status(401).type('text/plain').send('authentication required\n');
  };
}

/** True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
}
