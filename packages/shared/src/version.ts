/**
 * obsq's release version: bound to every log line, printed by `obsq --version`, and the `version`
 * label of `obsq_worker_info`. A constant, not a package.json read, so bundled or compiled output
 * carries it too; a test checks it against every package.json of the workspace.
 */
export const OBSQ_VERSION = '0.1.0';
