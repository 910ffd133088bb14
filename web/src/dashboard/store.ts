/**
 * The dashboard's one store, built from typed slices: the operator token (kept for the browser session),
 * the live feed (written only by the feed client), and what the operator is looking at. Components read it
 * through the module-level selectors at the bottom.
 */
import { create, type StateCreator } from 'zustand';
import type { EventRow, FeedServerMessage, JobRow, Stats, VolunteerPage } from '@barnraise/shared';
import { HISTORY_SECONDS } from '@barnraise/shared';
import { lastIdentityEvent } from './trust.ts';

export const TOKEN_KEY = 'barnraise.operatorToken';
/** The event log keeps this many lines in the page (the master keeps its own bounded ring). */
export const EVENT_LINES = 200;

export const FeedState = { idle: 'idle', connecting: 'connecting', live: 'live', reconnecting: 'reconnecting', refused: 'refused' } as const;
export type FeedState = (typeof FeedState)[keyof typeof FeedState];

export interface AuthSlice {
  token: string | null;
  authError: string | null;
  signIn(token: string): void;
  signOut(error?: string): void;
}

export interface FeedSlice {
  feedState: FeedState;
  swarm: Stats | null;
  /** Tasks per second, one point per second, oldest first; `historyEnd` is the time of the last point. */
  history: number[];
  historyEnd: number;
  jobs: Record<string, JobRow>;
  events: EventRow[];
  volunteers: VolunteerPage;
  setFeedState(state: FeedState): void;
  applyFrame(frame: FeedServerMessage): void;
  /** Rows fetched by REST (older pages of the jobs table). */
  addJobs(rows: JobRow[]): void;
}

export interface ViewSlice {
  selectedJob: string | null;
  jobsPage: number;
  volunteersPage: number;
  identitiesPage: number;
  selectJob(id: string | null): void;
  setJobsPage(page: number): void;
  setVolunteersPage(page: number): void;
  setIdentitiesPage(page: number): void;
}

export type DashboardState = AuthSlice & FeedSlice & ViewSlice;
type Slice<T> = StateCreator<DashboardState, [], [], T>;

const storage = () => (typeof sessionStorage === 'undefined' ? null : sessionStorage);

const authSlice: Slice<AuthSlice> = (set) => ({
  token: storage()?.getItem(TOKEN_KEY) ?? null,
  authError: null,
  signIn: (token) => {
    storage()?.setItem(TOKEN_KEY, token);
    set({ token, authError: null });
  },
  signOut: (error) => {
    storage()?.removeItem(TOKEN_KEY);
    set({ token: null, authError: error ?? null, feedState: FeedState.idle });
  },
});

const emptyPage: VolunteerPage = { total: 0, offset: 0, rows: [] };

/** Merge a feed frame into the feed slice (pure, so it is unit-tested without a socket). */
export function mergeFrame(state: FeedSlice, frame: FeedServerMessage): Partial<FeedSlice> {
  const jobs = frame.type === 'snapshot' ? {} : { ...state.jobs };
  for (const row of frame.jobs) jobs[row.id] = row;
  const history = frame.type === 'snapshot' ? frame.history : [...state.history, ...frame.points];
  const events = frame.type === 'snapshot' ? frame.events : [...state.events, ...frame.events];
  return {
    swarm: frame.swarm,
    history: history.length > HISTORY_SECONDS ? history.slice(-HISTORY_SECONDS) : history,
    historyEnd: frame.t,
    jobs,
    events: events.length > EVENT_LINES ? events.slice(-EVENT_LINES) : events,
    volunteers: frame.volunteers,
  };
}

const feedSlice: Slice<FeedSlice> = (set) => ({
  feedState: FeedState.idle,
  swarm: null,
  history: [],
  historyEnd: 0,
  jobs: {},
  events: [],
  volunteers: emptyPage,
  setFeedState: (feedState) => set({ feedState }),
  applyFrame: (frame) => set((s) => mergeFrame(s, frame)),
  addJobs: (rows) =>
    set((s) => {
      const jobs = { ...s.jobs };
      for (const r of rows) if (!jobs[r.id]) jobs[r.id] = r;
      return { jobs };
    }),
});

const viewSlice: Slice<ViewSlice> = (set) => ({
  selectedJob: null,
  jobsPage: 0,
  volunteersPage: 0,
  identitiesPage: 0,
  selectJob: (selectedJob) => set({ selectedJob }),
  setJobsPage: (jobsPage) => set({ jobsPage: Math.max(0, jobsPage) }),
  setVolunteersPage: (volunteersPage) => set({ volunteersPage: Math.max(0, volunteersPage) }),
  setIdentitiesPage: (identitiesPage) => set({ identitiesPage: Math.max(0, identitiesPage) }),
});

export const useDashboard = create<DashboardState>()((...a) => ({ ...authSlice(...a), ...feedSlice(...a), ...viewSlice(...a) }));

// ---------------------------------------------------------------- selectors

export const selectToken = (s: DashboardState) => s.token;
export const selectAuthError = (s: DashboardState) => s.authError;
export const selectFeedState = (s: DashboardState) => s.feedState;
export const selectSwarm = (s: DashboardState) => s.swarm;
export const selectHistory = (s: DashboardState) => s.history;
export const selectHistoryEnd = (s: DashboardState) => s.historyEnd;
export const selectJobs = (s: DashboardState) => s.jobs;
export const selectEvents = (s: DashboardState) => s.events;
export const selectVolunteers = (s: DashboardState) => s.volunteers;
export const selectSelectedJob = (s: DashboardState) => s.selectedJob;
export const selectJobsPage = (s: DashboardState) => s.jobsPage;
export const selectVolunteersPage = (s: DashboardState) => s.volunteersPage;
export const selectIdentitiesPage = (s: DashboardState) => s.identitiesPage;
/** Moves when a ban or a trust earned reaches the event log: the identities table refetches then. */
export const selectIdentityEventSeq = (s: DashboardState) => lastIdentityEvent(s.events);

/** Jobs newest first (ids are random, creation time orders them). */
export function sortedJobs(jobs: Record<string, JobRow>): JobRow[] {
  return Object.values(jobs).sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
}

/** Percent of a job's tasks that are final, as its progress bar shows it. */
export const percentDone = (j: Pick<JobRow, 'total' | 'counts'>) => (j.total === 0 ? 100 : Math.floor(((j.counts.done + j.counts.failed) * 100) / j.total));
