/** A job's progress as a native <progress> (announced by screen readers) with its figures. */
export function Progress({ name, done, total }: { name: string; done: number; total: number }) {
  return (
    <li className="job">
      <span className="job-name">{name}</span>
      <progress max={total} value={done} aria-label={`${name}: ${done} of ${total} tasks`} />
      <span className="job-count">
        {done} / {total}
      </span>
    </li>
  );
}
