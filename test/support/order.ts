/** The Order entity type of API.md, used across suites. */
export const ORDER_TYPE = {
  name: 'Order',
  attributes: [
    { key: 'order_number', type: 'string', required: true },
    { key: 'total', type: 'number' },
    { key: 'customer_email', type: 'string' },
    { key: 'paid', type: 'boolean', default: false },
    { key: 'channel', type: 'enum', values: ['web', 'phone'] },
    { key: 'lines', type: 'json' },
  ],
  statuses: [
    { key: 'new', name: 'New', initial: true },
    { key: 'received', name: 'Received' },
    { key: 'approved', name: 'Approved' },
    { key: 'suspended', name: 'Suspended' },
  ],
  requirements: [
    { key: 'number_format', condition: '$contains(order_number, /^ORD-[0-9]+$/)', message: 'Order number must look like ORD-123', enforce: true },
    { key: 'has_email', condition: "$exists(customer_email) and customer_email != ''", message: 'Customer email is required' },
    { key: 'positive_total', condition: 'total > 0', message: 'Total must be positive' },
    { key: 'is_paid', condition: 'paid = true', message: 'Order is not paid' },
  ],
  transitions: [
    { from: ['new'], to: 'received', when: ['has_email', 'positive_total'], auto: true },
    { from: ['received'], to: 'approved', when: ['is_paid'], auto: true },
    { from: ['approved'], to: 'suspended', whenFailing: ['is_paid'], auto: true },
    { from: ['suspended'], to: 'approved', when: ['is_paid'] },
  ],
};
