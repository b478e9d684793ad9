import { Link, Navigate } from 'react-router';
import { useEntityTypes } from '../Layout';
import { useSession } from '../session';
import { Empty, ErrorBox, Loading } from '../components/ui';

/** The first screen: the first entity type's list, or what to do when there is none. */
export function Home() {
  const types = useEntityTypes();
  const { can } = useSession();
  if (types.error) return <ErrorBox error={types.error} />;
  if (!types.data) return <Loading />;
  const first = types.data.items[0];
  if (first) return <Navigate to={`/entities/${first.key}`} replace />;
  return (
    <Empty title="Welcome to Statusflow">
      <p>Start by defining an entity type: its attributes, statuses and the requirements that move entities between them.</p>
      {can.definitions ? (
        <Link to="/types/new" className="btn">
          Create an entity type
        </Link>
      ) : (
        <p>An editor can create the first one.</p>
      )}
    </Empty>
  );
}
