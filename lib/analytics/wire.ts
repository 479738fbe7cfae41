// The analytics reports as the API answers them in JSON (wire form); format=csv (or Accept: text/csv)
// streams the report's table instead.
import * as z from 'zod';
import { rawBody } from '../http/responses.js';
import { wireId, wireInstant } from '../wire.js';

const range = z.strictObject({
  from: wireInstant,
  to: wireInstant,
  tz: z.string(),
  groupBy: z.enum(['day', 'hour']),
  /** The filters given (null when not). */
  filters: z.strictObject({ channel: z.string().nullable(), team: wireId.nullable(), customer: wireId.nullable(), mailbox: wireId.nullable() }),
});

const percentiles = z.strictObject({ count: z.number().int(), medianMs: z.number().nullable(), p90Ms: z.number().nullable() }).meta({ id: 'Percentiles' });

/** Wall time always; business time where the organization keeps business calendars (else null). */
const responseStats = z.strictObject({ count: z.number().int(), wall: percentiles, business: percentiles.nullable() }).meta({ id: 'ResponseStats' });

const inOut = z.strictObject({ inbound: z.number().int(), outbound: z.number().int() });

export const volumeReportWire = z
  .strictObject({
    range,
    totals: z.strictObject({ inbound: z.number().int(), outbound: z.number().int(), byChannel: z.record(z.string(), inOut) }),
    series: z
      .array(z.strictObject({ period: z.string(), channel: z.string(), inbound: z.number().int(), outbound: z.number().int() }))
      .describe(
        'Every period of the range (YYYY-MM-DD, or YYYY-MM-DDTHH:00 local) with every channel (the filtered one alone), in order; 0 where no message went.',
      ),
  })
  .meta({ id: 'VolumeReport' });

export const responseTimesReportWire = z
  .strictObject({
    range,
    firstResponse: responseStats,
    responses: responseStats,
    resolution: percentiles,
    series: z
      .array(z.strictObject({ period: z.string(), first: responseStats, all: responseStats }))
      .describe('Every period of the range, in order; a period without responses has count 0, null times and a null business.'),
  })
  .meta({ id: 'ResponseTimesReport' });

const slaTarget = z.strictObject({
  target: z.string(),
  total: z.number().int(),
  met: z.number().int(),
  missed: z.number().int(),
  compliance: z.number().nullable(),
  medianMs: z.number().nullable(),
  p90Ms: z.number().nullable(),
});

export const slaReportWire = z
  .strictObject({
    range,
    targets: z.array(slaTarget),
    series: z
      .array(z.strictObject({ period: z.string(), target: z.string(), met: z.number().int(), missed: z.number().int() }))
      .describe('Every period of the range with every target (firstResponse, nextResponse, resolution), in order; 0 where none was met or missed.'),
  })
  .meta({ id: 'SlaReport' });

export const overviewReportWire = z
  .strictObject({
    range,
    messages: inOut,
    firstResponse: percentiles.extend({ basis: z.enum(['business', 'wall']) }),
    resolution: percentiles,
    sla: z.strictObject({ total: z.number().int(), met: z.number().int(), compliance: z.number().nullable() }),
    backlog: z.array(
      z.strictObject({
        status: z.enum(['open', 'pending', 'snoozed']),
        total: z.number().int(),
        ages: z.strictObject({ underOneDay: z.number().int(), oneToSevenDays: z.number().int(), overSevenDays: z.number().int() }),
      }),
    ),
  })
  .meta({ id: 'OverviewReport' });

export const agentsReportWire = z
  .strictObject({
    range,
    members: z.array(
      z.strictObject({
        userId: wireId,
        name: z.string(),
        sent: z.number().int(),
        openAssigned: z.number().int(),
        firstResponse: responseStats,
        responses: responseStats,
      }),
    ),
  })
  .meta({ id: 'AgentsReport' });

export const customersReportWire = z
  .strictObject({
    range,
    customers: z.array(
      z.strictObject({
        customerId: wireId,
        name: z.string(),
        inbound: z.number().int(),
        outbound: z.number().int(),
        responses: z.number().int(),
        medianMs: z.number().nullable(),
        p90Ms: z.number().nullable(),
      }),
    ),
    /** The shipments with the most traffic: messages linked to each, in and out. */
    shipments: z.array(
      z.strictObject({
        shipmentId: wireId,
        reference: z.string(),
        customerId: wireId.nullable(),
        status: z.string(),
        inbound: z.number().int(),
        outbound: z.number().int(),
      }),
    ),
  })
  .meta({ id: 'CustomersReport' });

export const intentsReportWire = z
  .strictObject({
    range,
    intents: z.array(z.strictObject({ intent: z.string().nullable(), messages: z.number().int() })),
    sentiment: z
      .array(
        z.strictObject({
          period: z.string(),
          positive: z.number().int(),
          neutral: z.number().int(),
          negative: z.number().int(),
          averageScore: z.number().nullable(),
        }),
      )
      .describe('Every period of the range, in order; 0 and a null averageScore where no analysed message fell.'),
  })
  .meta({ id: 'IntentsReport' });

export const REPORT_WIRES = {
  overview: overviewReportWire,
  volume: volumeReportWire,
  'response-times': responseTimesReportWire,
  sla: slaReportWire,
  agents: agentsReportWire,
  customers: customersReportWire,
  intents: intentsReportWire,
} as const;

export const reportCsv = rawBody('text/csv', "the report's table as CSV (format=csv, or Accept: text/csv)");
