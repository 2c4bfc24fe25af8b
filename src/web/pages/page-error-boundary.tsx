import { Component, type ReactNode } from 'react';
import { displayText } from '../format.js';

export interface PageErrorBoundaryProps {
  /** The page's URL: when it changes after a failure, the page is drawn again. */
  readonly url: string;
  readonly children: ReactNode;
}

interface PageErrorBoundaryState {
  readonly error: Error | null;
}

/**
 * Keeps a page that fails while drawing (an answer it cannot show, a link it cannot read) from blanking the whole
 * UI: the navigation stays, and the page says what went wrong. React catches render errors only in a class
 * component, hence the one class among the function components. Another URL (another page, or the same page
 * with a changed link) draws the page again.
 */
export class PageErrorBoundary extends Component<PageErrorBoundaryProps, PageErrorBoundaryState> {
  override state: PageErrorBoundaryState = { error: null };

  static getDerivedStateFromError(error: unknown): PageErrorBoundaryState {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  override componentDidUpdate(previous: PageErrorBoundaryProps): void {
    if (this.state.error !== null && previous.url !== this.props.url) this.setState({ error: null });
  }

  override render(): ReactNode {
    const { error } = this.state;
    if (error === null) return this.props.children;
    return (
      <div className="page">
        <h1>This page could not be shown</h1>
        <p className="error" role="alert">
          {displayText(error.message)}
        </p>
        <p className="muted">Check the link, change the time range, or open another page from the navigation.</p>
      </div>
    );
  }
}
