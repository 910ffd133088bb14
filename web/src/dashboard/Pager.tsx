/** Previous / Next for a paged table; nothing when everything fits on one page. */
export function Pager({ label, pageNo, pages, setPage }: { label: string; pageNo: number; pages: number; setPage: (n: number) => void }) {
  if (pages <= 1) return null;
  return (
    <nav className="row pager" aria-label={label}>
      <button className="small" disabled={pageNo === 0} onClick={() => setPage(pageNo - 1)}>
        Previous
      </button>
      <span>
        Page {pageNo + 1} of {pages}
      </span>
      <button className="small" disabled={pageNo >= pages - 1} onClick={() => setPage(pageNo + 1)}>
        Next
      </button>
    </nav>
  );
}
