import { Link } from 'react-router';
import { useEntityTypes } from '../Layout';
import { useSession } from '../session';
import { Empty, ErrorBox, PageHead, SkeletonRows, Time } from '../components/ui';

export function EntityTypes() {
  const types = useEntityTypes();
  const { can } = useSession();
  return (
    <>
      <PageHead
        title="Entity types"
        sub="the schema of each kind of record: attributes, statuses, requirements, transitions"
        actions={can.definitions ? <Link className="btn" to="/types/new">New entity type</Link> : null}
      />
      <ErrorBox error={types.error} />
      <div className="table-wrap">
        <table aria-label="Entity types">
          <thead>
            <tr>
              <th scope="col">Type</th>
              <th scope="col">Attributes</th>
              <th scope="col">Statuses</th>
              <th scope="col">Requirements</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          {types.isPending ? (
            <SkeletonRows cols={5} rows={3} />
          ) : (
            <tbody>
              {types.data?.items.map((t) => (
                <tr key={t.key}>
                  <td>
                    <Link to={`/types/${t.key}`}>
                      <strong>{t.name}</strong>
                    </Link>{' '}
                    <span className="mono small muted">{t.key}</span>
                  </td>
                  <td className="num">{t.attributes.length}</td>
                  <td>{t.statuses.map((s) => s.name ?? s.key).join(' · ')}</td>
                  <td className="num">{t.requirements.length}</td>
                  <td>
                    <Time iso={t.updatedAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          )}
        </table>
        {types.data && types.data.items.length === 0 ? (
          <Empty title="No entity type yet">
            <p>Define one — for example Order, with the requirements that move an order to Received.</p>
          </Empty>
        ) : null}
      </div>
    </>
  );
}
