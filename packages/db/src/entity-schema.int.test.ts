/**
 * The entities describe the schema the migrations build, column for column and index for index: the
 * migrations are the home of the schema (constraints, partial-index predicates, triggers), the entities
 * are how code reads it, and nothing else keeps the two from drifting apart.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { EntityMetadata } from '@mikro-orm/core';
import { createTestDatabase, type TestDatabase } from './testing.ts';

let db: TestDatabase;
let entities: EntityMetadata[];

beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
  entities = [...db.orm.getMetadata().getAll().values()].filter((meta) => !meta.embeddable && !meta.virtual);
});
afterAll(async () => db?.drop());

type Column = { table: string; column: string; type: string; nullable: boolean };
type Index = { table: string; name: string; columns: string[]; unique: boolean };
type ForeignKey = { table: string; column: string; references: string };

function sql<T>(query: string): Promise<T[]> {
  return db.orm.em.getConnection().execute<T[]>(query);
}

const APP_TABLES = `c.relnamespace = 'public'::regnamespace and c.relkind = 'r' and c.relname <> 'mikro_orm_migrations'`;

async function databaseColumns(): Promise<Column[]> {
  return await sql<Column>(
    `select c.relname as "table", a.attname as "column", format_type(a.atttypid, a.atttypmod) as type, not a.attnotnull as nullable
       from pg_attribute a join pg_class c on c.oid = a.attrelid
      where ${APP_TABLES} and a.attnum > 0 and not a.attisdropped`,
  );
}

async function databaseIndexes(): Promise<Index[]> {
  return await sql<Index>(
    `select c.relname as "table", i.relname as name, ix.indisunique as unique,
            array(select a.attname from unnest(ix.indkey) with ordinality k(attnum, ord)
                    join pg_attribute a on a.attrelid = c.oid and a.attnum = k.attnum order by k.ord)::text[] as columns
       from pg_index ix join pg_class i on i.oid = ix.indexrelid join pg_class c on c.oid = ix.indrelid
      where ${APP_TABLES} and not ix.indisprimary`,
  );
}

async function databaseForeignKeys(): Promise<ForeignKey[]> {
  return await sql<ForeignKey>(
    `select c.relname as "table", a.attname as "column", r.relname as "references"
       from pg_constraint k join pg_class c on c.oid = k.conrelid join pg_class r on r.oid = k.confrelid
       join pg_attribute a on a.attrelid = c.oid and a.attnum = k.conkey[1]
      where ${APP_TABLES} and k.contype = 'f'`,
  );
}

/** An entity's column type as PostgreSQL's `format_type` spells it. */
function pgType(columnType: string): string {
  const varchar = /^varchar\((\d+)\)$/.exec(columnType);
  if (varchar) return `character varying(${varchar[1]})`;
  const spelled: Record<string, string> = {
    bigserial: 'bigint',
    int: 'integer',
    'int[]': 'integer[]',
    timestamptz: 'timestamp with time zone',
  };
  return spelled[columnType] ?? columnType;
}

function entityColumns(): Column[] {
  return entities.flatMap((meta) =>
    meta.props
      .filter((prop) => prop.fieldNames?.length && prop.persist !== false && !['1:m', 'm:n'].includes(prop.kind))
      .map((prop) => ({
        table: meta.tableName,
        column: prop.fieldNames[0] as string,
        type: pgType(prop.columnTypes[0] as string),
        nullable: prop.nullable === true,
      })),
  );
}

function columnsOf(meta: EntityMetadata, properties: string | string[] | undefined): string[] {
  return [properties ?? []].flat().flatMap((name) => meta.properties[name as keyof typeof meta.properties]?.fieldNames ?? [name]);
}

function entityIndexes(): Index[] {
  return entities.flatMap((meta) => [
    ...meta.indexes.map((index) => ({
      table: meta.tableName,
      name: index.name as string,
      columns: columnsOf(meta, index.properties),
      unique: false,
    })),
    ...meta.uniques.map((index) => ({
      table: meta.tableName,
      name: index.name as string,
      columns: columnsOf(meta, index.properties),
      unique: true,
    })),
    ...meta.props
      .filter((prop) => prop.unique === true)
      .map((prop) => ({
        table: meta.tableName,
        name: `${meta.tableName}_${prop.fieldNames[0]}_unique`,
        columns: prop.fieldNames,
        unique: true,
      })),
  ]);
}

function entityForeignKeys(): ForeignKey[] {
  return entities.flatMap((meta) =>
    meta.props
      .filter((prop) => prop.kind === 'm:1' || (prop.kind === '1:1' && prop.owner))
      .map((prop) => ({ table: meta.tableName, column: prop.fieldNames[0] as string, references: prop.targetMeta?.tableName as string })),
  );
}

const byKey =
  <T extends { table: string }>(key: (row: T) => string) =>
  (a: T, b: T) =>
    key(a).localeCompare(key(b));

describe('the entities and the migrations', () => {
  it('map the same tables and columns, with the same types and nullability', async () => {
    const key = (c: Column) => `${c.table}.${c.column}`;
    expect(entityColumns().sort(byKey(key))).toEqual((await databaseColumns()).sort(byKey(key)));
  });

  it('name the same indexes over the same columns (the predicates of partial indexes live in the migrations)', async () => {
    const key = (i: Index) => `${i.table}.${i.name}`;
    const unnamed = entityIndexes().filter((index) => !index.name);
    expect(unnamed, 'an entity index without a name cannot be matched to a migration').toEqual([]);
    expect(entityIndexes().sort(byKey(key))).toEqual((await databaseIndexes()).sort(byKey(key)));
  });

  it('have the same foreign keys', async () => {
    const key = (k: ForeignKey) => `${k.table}.${k.column}`;
    expect(entityForeignKeys().sort(byKey(key))).toEqual((await databaseForeignKeys()).sort(byKey(key)));
  });
});
