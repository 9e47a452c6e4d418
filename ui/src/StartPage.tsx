import { LineageLogo } from "./common/Icons";

export function StartPage() {
  return (
    <div className="start" data-testid="start-page">
      <div className="start-card">
        <LineageLogo />
        <h1>Type part of a table, job or column name</h1>
        <p>
          Search above to open the lineage around it: where its data comes from on the left, where it goes on the right.
          From there, ask why a job failed, what a change would affect downstream, or where a column comes from.
        </p>
        <ul className="start-tips">
          <li>
            <kbd>↑</kbd> <kbd>↓</kbd> to move through matches, <kbd>Enter</kbd> to open one
          </li>
          <li>Every view has its own address: copy it into a ticket to share what you see</li>
        </ul>
      </div>
    </div>
  );
}
