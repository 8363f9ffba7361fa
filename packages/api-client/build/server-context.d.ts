/**
 * Stands in for apps/api's `Context` when the declarations are bundled: the server's context (its
 * EntityManager, signer, request) is no part of the wire contract and would drag MikroORM's and
 * Fastify's types into a client's install. The client reads a router's procedures and error shape only.
 */
export type Context = object;
