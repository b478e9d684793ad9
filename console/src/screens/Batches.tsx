/** The batches list: recent batches, newest first, each with its status and a live bar. */
import { useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { get, qs, type Page } from '../api';
import { useSession } from '../session';
import { Chip, Empty, ErrorBox, PageHead, Pager, SkeletonRows, Time } from '../components/ui';
import { Bar, ended, percent } from '../components/BatchProgress';
import { describeFilter } from './BatchDetail';
import type { Batch } from '../types';

export function Batches() {
  const { can } = useSession();
  const [params, setParams] = useSearchParams();
  const cursor = params.get('cursor') ?? '';
  const [prev, setPrev] = useState<string[]>([]);
  const list = useQuery({
    queryKey: ['batches', { cursor }],
    queryFn: ({ signal }) => get<Page<Batch>>(`/batches${qs({ cursor, limit: 50 })}`, signal),
    placeholderData: keepPreviousData,
  });
  const items = list.data?.items ?? [];
  return (
    <>
      <PageHead
        title="Batches"
        sub="an API process run over a filtered set of entities"
        actions={can.entities ? <Link className="btn primary" to="/batches/new">Start a batch</Link> : null}
      />
      <ErrorBox error={list.error} />
      <div className="table-wrap">
        <table aria-label="Batches">
          <thead>
            <tr>
              <th scope="col">Batch</th>
              <th scope="col">Status</th>
              <th scope="col" style={{ width: '32%' }}>Progress</th>
              <th scope="col">Failed</th>
              <th scope="col">Started</th>
            </tr>
          </thead>
          {list.isPending ? (
            <SkeletonRows cols={5} rows={3} />
          ) : (
            <tbody>
              {items.map((b) => (
                <tr key={b.id} data-batch={b.id}>
                  <td>
                    <Link to={`/batches/${b.id}`}>
                      <strong>{b.process}</strong> <span className="mono small">{b.id.slice(-8)}</span>
                    </Link>
                    <div className="small muted">{describeFilter(b.filter)}</div>
                  </td>
                  <td>
                    <Chip value={b.status} />
                  </td>
                  <td>
                    <div className="row" style={{ flexWrap: 'nowrap' }}>
                      <div style={{ flex: 1 }}>
                        <Bar batch={b} label={`Progress of batch ${b.id.slice(-8)}`} />
                      </div>
                      <span className="small num" style={{ minWidth: 110, textAlign: 'right' }}>
                        {percent(b)}% · {ended(b).toLocaleString()}/{b.total.toLocaleString()}
                      </span>
                    </div>
                  </td>
                  <td className="num">{b.failed ? <span style={{ color: 'var(--bad)' }}>{b.failed.toLocaleString()}</span> : <span className="muted">0</span>}</td>
                  <td>
                    <Time iso={b.startedAt ?? b.createdAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          )}
        </table>
        {list.data && items.length === 0 ? (
          <Empty title="No batch yet">
            <p>
              {can.entities ? (
                <>
                  <Link to="/batches/new">Start one</Link>: pick an API process, filter the entities it should run on, check the count, go.
                </>
              ) : (
                'An operator can start one: an API process over a filtered set of entities.'
              )}
            </p>
          </Empty>
        ) : null}
      </div>
      <Pager
        cursor={cursor}
        nextCursor={list.data?.nextCursor}
        prev={prev}
        setPrev={setPrev}
        go={(c) => {
          const p = new URLSearchParams(params);
          if (c) p.set('cursor', c);
          else p.delete('cursor');
          setParams(p);
        }}
      />
    </>
  );
}
