import type { Product } from './types';

/** The catalogue captured from the hosted upstream (upstream-api.md, "The hosted catalogue"). */
export const DEFAULT_PRODUCTS: Product[] = [
  { id: '4a3f004f-4b76-4796-adea-308a7c22a40e', name: 'Pizza', vat_rate: 0.2, price_unit: 12.0 },
  { id: '405292b5-75a3-450b-8d6d-d0569f936c94', name: 'Sandwich', vat_rate: 0.05, price_unit: 7.77 },
  { id: '71626d1d-7d04-4982-a5d3-0496731a488a', name: 'Water', vat_rate: 0.03, price_unit: 2.02 },
  { id: '375e96af-3aaf-44f3-831c-9071dacee8bf', name: 'Beer', vat_rate: 0.25, price_unit: 5.2 },
  { id: '42786839-a2a7-4393-b825-9f25d2dd3f89', name: 'Salad', vat_rate: 0.18, price_unit: 8.21 },
  { id: '36e3abea-af86-4289-8c17-54c571d3bd59', name: 'Coffee', vat_rate: 0.1, price_unit: 3.41 },
  { id: '8a88aee8-dbab-46a3-b334-c82b0d751540', name: 'Burger', vat_rate: 0.25, price_unit: 13.4 },
  { id: '0b7706cd-9902-482c-a095-d5016ebb0e81', name: 'Bagel', vat_rate: 0.15, price_unit: 6.0 },
  { id: '9360ca0f-ed75-449e-8ad1-1a15a7210f9a', name: 'Tea', vat_rate: 0.12, price_unit: 2.5 },
  { id: 'ae84b641-8ee4-432b-ac67-b333d57815a5', name: 'Pasta', vat_rate: 0.3, price_unit: 17.33 },
  { id: '70b6324a-4bdf-4dcd-aa54-7f9e1af45b50', name: 'Salt', vat_rate: 0.1, price_unit: 0.2 },
];
