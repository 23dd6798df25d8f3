/** Products of the simulator's default catalogue (dev/simulator/catalogue.ts) that the end-to-end tests order. */
export const PIZZA = '4a3f004f-4b76-4796-adea-308a7c22a40e'; // 12.00 net, 20 % VAT → 1440 gross
export const SANDWICH = '405292b5-75a3-450b-8d6d-d0569f936c94'; // 7.77 net, 5 % VAT → 816 gross
export const TEA = '9360ca0f-ed75-449e-8ad1-1a15a7210f9a'; // 2.50 net, 12 % VAT → 280 gross
