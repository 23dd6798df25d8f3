-- Baskets and their lines. Money is integer minor units; VAT rates are basis points (0.25 → 2500).
create table baskets (
  id uuid primary key,
  owner_id text not null check (length(owner_id) between 1 and 320),
  status text not null default 'open' check (status in ('open', 'locked', 'closed', 'discarded')),
  version integer not null default 1 check (version >= 1),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- The caller's open baskets, newest first.
create index baskets_owner_open_idx on baskets (owner_id, created_at desc, id desc) where status = 'open';

create table basket_lines (
  basket_id uuid not null references baskets (id) on delete cascade,
  product_id text not null check (length(product_id) between 1 and 128),
  product_name text not null,
  quantity integer not null check (quantity between 1 and 999),
  -- Snapshotted from the catalogue whenever the line changes: the price the cashier saw is the price charged.
  net_unit_minor bigint not null check (net_unit_minor >= 0),
  vat_basis_points integer not null check (vat_basis_points between 0 and 10000),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (basket_id, product_id)
);
