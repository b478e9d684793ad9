import { StrictMode } from 'react';
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
import { ProcessSettings } from './screens/ProcessSettings';
import { EntityTypes } from './screens/EntityTypes';
import { EntityTypeEditor } from './screens/EntityTypeEditor';
import { Connections } from './screens/Connections';
import { NotFound } from './screens/NotFound';
import './styles.css';

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
      { path: 'processes/:key', element: <ProcessSettings /> },
      { path: 'types', element: <EntityTypes /> },
      { path: 'types/:key', element: <EntityTypeEditor /> },
      { path: 'connections', element: <Connections /> },
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
