import { defineEntity, p } from '@mikro-orm/core';
import { Concert } from './concert.ts';

/** One performance of a concert: a date with its 50 seats. */
export const ScheduleSchema = defineEntity({
  name: 'Schedule',
  tableName: 'schedule',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    concert: () => p.manyToOne(Concert),
    /** Performance date, `YYYY-MM-DD`. */
    date: p.string().columnType('date'),
    startsAt: p.datetime(),
  },
  uniques: [{ name: 'schedule_concert_id_date_unique', properties: ['concert', 'date'] }],
});

export class Schedule extends ScheduleSchema.class {}
ScheduleSchema.setClass(Schedule);
