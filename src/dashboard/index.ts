/** The live web dashboard over a run store: `startDashboard` serves it. */
export {
  DEFAULT_DASHBOARD_PORT,
  type Dashboard,
  type DashboardOptions,
  defaultWebRoot,
  startDashboard,
} from './server.js';
export { DashboardData, DashboardRequestError } from './queries.js';
export { STOP_REQUESTED_EVENT } from '../store/index.js';
export { CANDIDATE_EXPORTS, type CandidateExport } from './exports.js';
export type * from './api-types.js';
