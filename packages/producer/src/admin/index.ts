export type { AdminDeps, FoundJob } from './adminDeps.js';
export * from './batchHooks.js';
export { readStatus, type ObsqStatus, type QueueStatus, type FailureCount } from './status.js';
export { checkQueueAndState, listJobs, redactPayload, showJob, type JobDetails, type JobSummary, type ListJobsOptions } from './jobs.js';
export { retryFailed, retryJob, type RetryFailedOptions, type RetryFailedOutcome, type RetryOutcome } from './retry.js';
export { cancelJob, type CancelOutcome } from './cancel.js';
export {
  listAbortStaleUploadsSchedules,
  scheduleAbortStaleUploads,
  type AbortStaleUploadsSchedule,
  type AbortStaleUploadsScheduleInput,
} from './uploadSchedules.js';
export { recentRecords, type RecentRecordsOptions } from './records.js';
