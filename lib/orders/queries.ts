import type { Caller } from '../auth';
import { orderNotFound } from './errors';
import type { Order } from './order';
import type { OrderFilter, OrderPage, OrderRepository } from './repository';

/** A cashier's reads of their own orders: one by id (404 for anyone else's), and a page of them. */
export class OrderQueries {
  constructor(private readonly orders: OrderRepository) {}

  async get(caller: Caller, orderId: string): Promise<Order> {
    const order = await this.orders.find(caller.userId, orderId);
    if (!order) throw orderNotFound();
    return order;
  }

  list(caller: Caller, filter: OrderFilter): Promise<OrderPage> {
    return this.orders.listForOwner(caller.userId, filter);
  }
}
