import { lazy, StrictMode, Suspense, type ReactNode } from 'react';
import { createRoot } from 'react-dom/client';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { createBrowserRouter, RouterProvider } from 'react-router';
import { ApiError } from './api';
import { SessionProvider } from './session';
import { Layout } from './Layout';
import { SignIn } from './screens/SignIn';
import { Home } from './screens/Home';
import { EntityList } from './screens/EntityList';
import { EntityDetail } from './screens/EntityDetail';
import { Runs } from './screens/Runs';
import { RunDetail } from './screens/RunDetail';
import { Processes } from './screens/Processes';
import { EntityTypes } from './screens/EntityTypes';
import { Connections } from './screens/Connections';
import { NotFound } from './screens/NotFound';
import { Batches } from './screens/Batches';
import { BatchNew } from './screens/BatchNew';
import { BatchDetail } from './screens/BatchDetail';
import { Loading } from './components/ui';
import './styles.css';

// The editors (dnd-kit, the in-browser expression check, the diff) load when first opened, so the
// entity list, the first screen, ships less JavaScript.
const ProcessSettings = lazy(() => import('./screens/ProcessSettings').then((m) => ({ default: m.ProcessSettings })));
const EntityTypeEditor = lazy(() => import('./screens/EntityTypeEditor').then((m) => ({ default: m.EntityTypeEditor })));
const later = (node: ReactNode) => <Suspense fallback={<Loading />}>{node}</Suspense>;

const client = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 10_000,
      refetchOnWindowFocus: false,
      retry: (n, err) => !(err instanceof ApiError && err.status >= 400 && err.status < 500) && n < 2,
    },
  },
});

const router = createBrowserRouter([
  {
    element: <Layout />,
    children: [
      { index: true, element: <Home /> },
      { path: 'entities/:type', element: <EntityList /> },
      { path: 'entities/:type/:id', element: <EntityDetail /> },
      { path: 'runs', element: <Runs /> },
      { path: 'runs/:id', element: <RunDetail /> },
      { path: 'processes', element: <Processes /> },
      { path: 'processes/:key', element: later(<ProcessSettings />) },
      { path: 'types', element: <EntityTypes /> },
      { path: 'types/:key', element: later(<EntityTypeEditor />) },
      { path: 'connections', element: <Connections /> },
      { path: 'batches', element: <Batches /> },
      { path: 'batches/new', element: <BatchNew /> },
      { path: 'batches/:id', element: <BatchDetail /> },
      { path: '*', element: <NotFound /> },
    ],
  },
]);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={client}>
      <SessionProvider fallback={<SignIn />}>
        <RouterProvider router={router} />
      </SessionProvider>
    </QueryClientProvider>
  </StrictMode>,
);
