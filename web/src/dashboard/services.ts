/** What dashboard components use besides the store: the REST client and the live feed connection. */
import { createContext, useContext } from 'react';
import type { OperatorApi } from './api.ts';
import type { FeedConnection } from './feed-client.ts';

export interface Services {
  api: OperatorApi;
  feed: FeedConnection;
}

export const ServicesContext = createContext<Services | null>(null);

export function useServices(): Services {
  const s = useContext(ServicesContext);
  if (!s) throw new Error('dashboard services are not provided');
  return s;
}
