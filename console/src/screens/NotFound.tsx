import { Link } from 'react-router';
import { Empty } from '../components/ui';

export function NotFound() {
  return (
    <Empty title="Nothing here">
      <p>
        This page does not exist. <Link to="/">Go to the overview</Link>.
      </p>
    </Empty>
  );
}
