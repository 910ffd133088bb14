/**
 * The volunteer page's one store, built from typed slices (zustand's slices pattern). The socket client and
 * the worker pool write to it through the session slice (a VolunteerSink, the shared volunteer core's); components read it with the
 * module-level selectors at the bottom. Only the visitor's choices are persisted (localStorage).
 */
import { create, type StateCreator } from 'zustand';
import { createJSONStorage, persist } from 'zustand/middleware';
import { ConnectionState, type AttemptOutcome, type MasterMessage, type MessageOf, type Site, type Stats, type VolunteerSink } from '@barnraise/shared';

export interface JobBrief {
  id: string;
  name: string;
  done: number;
  total: number;
}

/** Swarm totals: from `swarm` frames while connected, from GET /api/stats before. */
export interface SwarmView {
  volunteers: number;
  tasksDone: number;
  tasksPerSecond: number;
  activeJobs: number;
  /** Names are only known from `swarm` frames (the public REST stats carry counts only). */
  jobs: JobBrief[] | null;
}

export interface SiteSlice {
  site: Site | null;
  setSite(site: Site): void;
}

export interface SwarmSlice {
  swarm: SwarmView | null;
  statsPolled(stats: Stats): void;
}

export interface SessionSlice extends VolunteerSink {
  connectionState: ConnectionState;
  problem: string | null;
  running: boolean;
  tasksDone: number;
  tasksFailed: number;
  cpuMs: number;
  currentJob: string | null;
  workersAlive: number;
  workersBusy: number;
  /** The identity this browser proves to the master (rule V1), once welcomed. */
  identity: string | null;
  /** Pyodide's files for Python jobs (rule Y6), once a Python job has come. */
  python: PythonView | null;
  pythonAssetWanted(size: number): void;
  pythonAssetGot(size: number, downloaded: boolean): void;
  pythonAssetFailed(size: number): void;
  setRunning(running: boolean): void;
  reportProblem(problem: string): void;
}

/** Pyodide's files as this tab gets them: bytes still coming, bytes downloaded, bytes read from Cache Storage. */
export interface PythonView {
  pendingBytes: number;
  downloadedBytes: number;
  cachedBytes: number;
}

/** What the visitor chose; kept across visits. */
export interface PrefsSlice {
  threads: number;
  pauseWhenHidden: boolean;
  /** The tab was computing when the visitor last left: offer Resume. */
  resumable: boolean;
  /** Tasks this browser has completed, all visits. */
  lifetimeTasks: number;
  setThreads(threads: number): void;
  setPauseWhenHidden(on: boolean): void;
}

export type VolunteerState = SiteSlice & SwarmSlice & SessionSlice & PrefsSlice;
type Slice<T> = StateCreator<VolunteerState, [['zustand/persist', unknown]], [], T>;

const siteSlice: Slice<SiteSlice> = (set) => ({
  site: null,
  setSite: (site) => set({ site }),
});

const swarmSlice: Slice<SwarmSlice> = (set) => ({
  swarm: null,
  statsPolled: (s) =>
    set((state) => ({
      swarm: { volunteers: s.volunteers, tasksDone: s.tasksDone, tasksPerSecond: s.tasksPerSecond, activeJobs: s.activeJobs, jobs: state.swarm?.jobs ?? null },
    })),
});

/**
 * How long per-attempt news (counts, the current job, busy workers) waits to reach the view. Applied one by
 * one, tiny tasks cost the page a render and a localStorage write (lifetimeTasks persists) each, on the main
 * thread that also feeds the workers (issue 13); ten updates a second are plenty for a human.
 */
export const UI_UPDATE_MS = 100;

const sessionSlice: Slice<SessionSlice> = (set) => {
  let due: ReturnType<typeof setTimeout> | null = null;
  const fresh = () => ({ done: 0, failed: 0, cpuMs: 0, job: undefined as string | null | undefined, workers: undefined as [number, number] | undefined });
  let news = fresh();
  const flush = () => {
    if (due) clearTimeout(due);
    due = null;
    const n = news;
    news = fresh();
    if (n.done === 0 && n.failed === 0 && n.job === undefined && n.workers === undefined) return;
    set((s) => ({
      tasksDone: s.tasksDone + n.done,
      lifetimeTasks: s.lifetimeTasks + n.done,
      tasksFailed: s.tasksFailed + n.failed,
      cpuMs: s.cpuMs + n.cpuMs,
      ...(n.job !== undefined ? { currentJob: n.job } : {}),
      ...(n.workers ? { workersAlive: n.workers[0], workersBusy: n.workers[1] } : {}),
    }));
  };
  const soon = () => {
    due ??= setTimeout(flush, UI_UPDATE_MS);
  };
  return {
    connectionState: ConnectionState.idle,
    problem: null,
    running: false,
    tasksDone: 0,
    tasksFailed: 0,
    cpuMs: 0,
    currentJob: null,
    workersAlive: 0,
    workersBusy: 0,
    identity: null,
    python: null,
    pythonAssetWanted: (size) =>
      set((s) => ({ python: { pendingBytes: (s.python?.pendingBytes ?? 0) + size, downloadedBytes: s.python?.downloadedBytes ?? 0, cachedBytes: s.python?.cachedBytes ?? 0 } })),
    pythonAssetGot: (size, downloaded) =>
      set((s) => {
        const p = s.python ?? { pendingBytes: size, downloadedBytes: 0, cachedBytes: 0 };
        return { python: { pendingBytes: Math.max(0, p.pendingBytes - size), downloadedBytes: p.downloadedBytes + (downloaded ? size : 0), cachedBytes: p.cachedBytes + (downloaded ? 0 : size) } };
      }),
    pythonAssetFailed: (size) => set((s) => (s.python ? { python: { ...s.python, pendingBytes: Math.max(0, s.python.pendingBytes - size) } } : {})),
    welcomed: (_volunteerId, identity) => set({ identity: identity ?? null }),
    setRunning: (running) => {
      flush(); // news from before comes first: a stop's "no current job" is not overwritten by it
      set({ running, resumable: running, ...(running ? { problem: null } : { currentJob: null }) });
    },
    reportProblem: (problem) => set({ problem }),
    connectionChanged: (connectionState, problem) =>
      set((s) => ({
        connectionState,
        problem: problem ?? (connectionState === ConnectionState.connected ? null : s.problem),
        ...(connectionState === ConnectionState.failed ? { running: false } : {}),
      })),
    attemptStarted: (currentJob) => {
      news.job = currentJob;
      soon();
    },
    attemptEnded: (outcome: AttemptOutcome) => {
      if (outcome.ok) news.done++;
      else news.failed++;
      news.cpuMs += outcome.ms;
      soon();
    },
    swarmReported: (f: MessageOf<MasterMessage, 'swarm'>) => set({ swarm: { volunteers: f.volunteers, tasksDone: f.tasksDone, tasksPerSecond: f.tasksPerSecond, activeJobs: f.jobs.length, jobs: f.jobs } }),
    workersChanged: (workersAlive, workersBusy) => {
      news.workers = [workersAlive, workersBusy];
      soon();
    },
  };
};

/** Threads the visitor may choose: 1 up to the hardware's parallelism. */
export function maxThreads(): number {
  const n = typeof navigator === 'undefined' ? 1 : navigator.hardwareConcurrency || 1;
  return Math.max(1, Math.min(n, 256));
}

/** Default: half the hardware's parallelism, at least 1, so the visitor's machine stays usable. */
export function defaultThreads(max = maxThreads()): number {
  return Math.max(1, Math.floor(max / 2));
}

export const clampThreads = (n: number, max = maxThreads()) => Math.min(max, Math.max(1, Math.round(Number.isFinite(n) ? n : 1)));

const prefsSlice: Slice<PrefsSlice> = (set) => ({
  threads: defaultThreads(),
  pauseWhenHidden: false,
  resumable: false,
  lifetimeTasks: 0,
  setThreads: (threads) => set({ threads: clampThreads(threads) }),
  setPauseWhenHidden: (pauseWhenHidden) => set({ pauseWhenHidden }),
});

export const PREFS_KEY = 'barnraise.volunteer';

export const useVolunteer = create<VolunteerState>()(
  persist((...a) => ({ ...siteSlice(...a), ...swarmSlice(...a), ...sessionSlice(...a), ...prefsSlice(...a) }), {
    name: PREFS_KEY,
    version: 1,
    storage: createJSONStorage(() => localStorage),
    partialize: (s) => ({ threads: s.threads, pauseWhenHidden: s.pauseWhenHidden, resumable: s.resumable, lifetimeTasks: s.lifetimeTasks }),
    // A machine with fewer cores than the one that saved the choice gets a valid thread count.
    merge: (saved, current) => {
      const merged = { ...current, ...(saved as Partial<PrefsSlice>) };
      return { ...merged, threads: clampThreads(merged.threads) };
    },
  }),
);

// Module-level selectors: stable references, so components re-render only when their slice changes.
export const selectSite = (s: VolunteerState) => s.site;
export const selectSwarm = (s: VolunteerState) => s.swarm;
export const selectConnection = (s: VolunteerState) => s.connectionState;
export const selectProblem = (s: VolunteerState) => s.problem;
export const selectRunning = (s: VolunteerState) => s.running;
export const selectTasksDone = (s: VolunteerState) => s.tasksDone;
export const selectTasksFailed = (s: VolunteerState) => s.tasksFailed;
export const selectCpuMs = (s: VolunteerState) => s.cpuMs;
export const selectCurrentJob = (s: VolunteerState) => s.currentJob;
export const selectPython = (s: VolunteerState) => s.python;
export const selectWorkersAlive = (s: VolunteerState) => s.workersAlive;
export const selectWorkersBusy = (s: VolunteerState) => s.workersBusy;
export const selectIdentity = (s: VolunteerState) => s.identity;
export const selectThreads = (s: VolunteerState) => s.threads;
export const selectPauseWhenHidden = (s: VolunteerState) => s.pauseWhenHidden;
export const selectResumable = (s: VolunteerState) => s.resumable;
export const selectLifetimeTasks = (s: VolunteerState) => s.lifetimeTasks;
