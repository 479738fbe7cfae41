// The offline analyser: deterministic rules, no network. Intent by weighted keyword and phrase features
// read from the subject and the new text (quoted history and signature removed), with tie-break
// priorities; sentiment from a lexicon that knows forwarder politeness ("kindly", "do the needful",
// "thanks in advance" are neutral), negation and escalation language; urgency from deadlines and stakes;
// entities from lib/logistics (identifiers) and entities.ts / ports.ts (ports, dates, Incoterms, HS codes).
import { extractIdentifiersFromMessage } from '../../logistics/identifiers.js';
import { findDates, findHsCodes, findIncoterms } from './entities.js';
import { findPorts } from './ports.js';
import { SUMMARY_MAX, type AnalysisInput, type AnalysisResult, type Intent, type Sentiment, type Urgency } from './schema.js';
import { prepare, type PreparedText } from './text.js';

interface Feature {
  re: RegExp;
  w: number;
}

type FeatureTable = Record<Intent, Feature[]>;

const f = (w: number, re: RegExp): Feature => ({ re, w });

// Shipment documents: what is attached (submission) or asked for (request). A freight invoice is not one
// of them (invoice_payment), a commercial invoice is.
const DOC = String.raw`(?:commercial\s+invoice|(?:invoice\s*(?:,|&|and|\/)\s*)?packing\s+list|\bPL\b|\bCI\b|\bSI\b|\bVGM\b|shipping\s+instructions?|pre[- ]?alert|(?:draft|final|original|copy\s+of\s+(?:the\s+)?|scanned\s+copy\s+of\s+(?:the\s+)?)?(?:\bH?B\/?L\b|\bMBL\b|\bHBL\b|bills?\s+of\s+lading)(?:\s+(?:draft|copy|copies|set))?|\bH?AWB\s+copy|\bMAWB\s+copy|\bPOD\b|proof\s+of\s+delivery|\bEIR\b|\bCOO\b|certificates?\s+of\s+origin|\bcertificates?\b|\bcert\b|phyto\w*|fumigation|insurance\s+(?:certificate|policy)|surrender\s+letter|telex\s+release|\bDO\b|delivery\s+order|MSDS|\bSDS\b|DG\s+(?:declaration|docs?|documents?)|(?:REX|origin)\s+statement|statement\s+on\s+origin|e-?CSD|form\s*13|checklist|e-?way\s*bill|weighment\s+slip|documents?|docs)`;

// Verbs that send attachments: "PFA", "please find attached", "attached are", "enclosed herewith".
const ATTACH = String.raw`(?:\bpfa\b|\b(?:please|pls|kindly)\s+find\s+(?:the\s+|our\s+)?(?:attached|enclosed|herewith|below\s+(?:the\s+)?(?:docs|documents))|\bfind\s+attached\b|\battached\s+(?:please\s+find|pls\s+find|herewith|is|are|you\s+will\s+find|the|our|pl[sz]?)\b|\benclosed\s+(?:please\s+find|herewith|is|are)\b|\b(?:in|see)\s+the\s+attached\b|\bherewith\b|\battaching\b|\bwe\s+(?:are\s+)?(?:attaching|sending|sharing|enclosing)\b|\battached:|\banbei\b)`;

// Hindi in Latin script: "kab milega" (when will we get it), "bhej do" (send it).
const ATTACH_RE = new RegExp(ATTACH, 'i');
// "We will send the invoice tomorrow", "PL to follow": a document announced, not attached.
const ANNOUNCED =
  /\b(?:will|shall|going\s+to)\s+(?:\w+\s+)?(?:send|share|attach|forward|mail)\b|\bto\s+follow\b|\b(?:tomorrow|later|shortly|next\s+week|by\s+(?:eod|evening|tonight))\b/i;

/** Whether a sentence says something is attached now ("PFA the invoice", "attached is the PL"), not announced for later. */
export function saysAttached(sentence: string): boolean {
  return ATTACH_RE.test(sentence) && !ANNOUNCED.test(sentence);
}

const WHEN_WILL_WE_GET = String.raw`(?:kab|kb)\s+(?:tak\s+)?(?:milega|milegi|milenge|aayega|ayega|aayegi|bhejoge|bhejenge|denge|doge|release\s+hoga)`;

const INTENT_FEATURES: FeatureTable = {
  quote_request: [
    f(3, /\b(?:rate|freight|price|pricing|tariff)\s+(?:request|enquiry|inquiry|req|query)\b/i),
    f(3, /\brequest(?:ing)?\s+for\s+(?:a\s+|an\s+|your\s+)?(?:quote|quotation|offer|rates?|proposal|pricing)\b|\bRFQ\b/i),
    // Requests for offers in the European languages agents write in.
    f(3, /\b(?:anfrage|angebot|preisanfrage|frachtrate|offerte|prijsopgave|cotizaci[oó]n|preventivo|devis|demande\s+de\s+prix)\b/i),
    f(3, /\b(?:kindly|pls|please|plz|pl|can\s+you|could\s+you|request\s+you\s+to)\s+(?:\w+\s+){0,2}(?:quote|offer)\b(?!\s+(?:no|ref|number))/i),
    f(2.5, /\b(?:ask|asking|looking)\s+(?:you\s+)?for\s+(?:an?\s+|your\s+)?(?:(?:best|long[- ]term|competitive)\s+)?(?:offer|quote|quotation|rates?)\b/i),
    f(2.5, /\b(?:quote|quotation|offer|rates?)\s+(?:for|required|needed|request|split|incl|including)\b/i),
    f(3, /\b(?:tender|freight\s+tender|annual\s+(?:rate\s+)?contract|rate\s+contract|bid\s+(?:for|invitation))\b/i),
    f(
      2.5,
      /\bwhat\s+(?:would|will|is|are)\s+(?:be\s+)?(?:your|the)\s+(?:[\w-]+\s+){0,2}(?:rates?|cost|costing|price|pricing|charges|offer|freight)\b|\b(?:need|want|require)\s+(?:a\s+|an\s+|the\s+)?(?:[\w-]+\s+)?(?:price|pricing|costing)\b/i,
    ),
    f(
      2,
      /\b(?:best|competitive|lowest|all[- ]in|all[- ]inclusive|spot|ocean|sea|air|net|special|long[- ]term)\s+(?:freight\s+)?(?:rates?|prices?|quotes?|offers?)\b/i,
    ),
    f(
      2,
      /\b(?:share|send|give|provide|advise|offer|need|require|want|submit|revert\s+with|let\s+(?:us|me)\s+know)\s+(?:\w+\s+){0,3}(?:rates?|quote|quotation|offers?|pricing|proposal|(?:freight|shipping|transport(?:ation)?|trucking|clearance)\s+(?:charges|costs?|rates?))\b/i,
    ),
    f(1.5, /\b(?:enquiry|inquiry|pricing)\b/i),
    f(
      1.5,
      /\brates?\s+(?:for|ex|from)\b|\b(?:ocean|sea|air)\s+freight\s+(?:for|ex|from)\b|\b(?:advise|share|send|quote)\s+(?:your\s+|the\s+)?(?:ocean\s+|sea\s+|air\s+)?freight\b/i,
    ),
    f(3, /\b(?:ka|ki|ke)\s+rates?\b|\brates?\s+(?:bata|batao|bhej|bhejo|kya|do)\b/i),
    f(
      2.5,
      /\b(?:negotiat\w*|counter[- ]?offer|better\s+(?:rate|price|offer|pricing)|revise\s+(?:your\s+|the\s+)?(?:rate|offer|quote|quotation|pricing|price)|target\s+(?:rate|price)|match\s+(?:the|this|our|their|market)\s+(?:\w+\s+)?(?:rate|price)|reduce\s+(?:the\s+|your\s+)?(?:rate|price)|rates?\s+(?:is|are)\s+(?:too\s+|very\s+)?high|(?:extend|extension\s+of)\s+(?:the\s+)?(?:rate\s+)?validity|validity\s+(?:of\s+)?(?:your\s+|the\s+)?(?:rate|offer|quote))\b/i,
    ),
    f(
      2.5,
      /\b(?:no\s+(?:reply|response)|still\s+waiting|waiting|any\s+update|update)\b[^.\n]{0,40}\b(?:rates?|quote|quotation|offer)\b|\b(?:rates?|quote|quotation|offer)\b[^.\n]{0,20}\b(?:not\s+(?:yet\s+)?received|still\s+awaited|pending)\b/i,
    ),
    f(1, /\b(?:quotation|quote|offer|rates)\b/i),
    f(0.7, /\b(?:transit\s+time|free\s+(?:days|time)|validity|cargo\s+readiness|cargo\s+ready|ready\s+(?:by|on|in|next))\b/i),
  ],
  booking_request: [
    f(3, /\b(?:booking|bkg)\s+(?:request|req|confirmation|confirmed|amendment|cancell?ation)\b|\bbooking\s+conf\b/i),
    f(3.5, /\b(?:please|pls|plz|kindly|request\s+you\s+to|go\s+ahead\s+and|go\s+ahead\s+to|proceed\s+to|ok\s+to|want\s+to)\s+(?:\w+\s+){0,2}book\b/i),
    f(3.5, /\b(?:go\s+ahead|proceed)\s+(?:with\s+)?(?:the\s+)?booking\b/i),
    f(3, /\b(?:amend|amendment\s+(?:in|to)|cancel|confirm|release|update)\s+(?:our\s+|the\s+|my\s+|this\s+|your\s+)?(?:bkg|booking)\b/i),
    f(2, /\b(?:booking|bkg)\s+(?:copy|details|no\.?\s+(?:is|not))\b|\bbook(?:ed)?\s+(?:\d|on\s+(?:the|first|next)|space)\b|\bshare\s+(?:the\s+)?booking\b/i),
    f(
      3,
      /\b(?:rates?|offer|quote)\s+(?:is|are)\s+(?:ok|okay|fine|acceptable|approved|agreed)\b|\b(?:rates?|offer|quote|quotation)\s+(?:accepted|approved|confirmed)\b|\bwe\s+(?:hereby\s+)?(?:accept|confirm)\s+(?:your\s+)?(?:rates?|offer|quot\w*)\b|\bok\s+with\s+your\s+(?:rate|offer|quote|price)\b/i,
    ),
    f(
      3,
      /\b(?:release|issue|share|send)\s+(?:the\s+|our\s+)?(?:SO|S\/O|shipping\s+order|release\s+order)\b|\b(?:SO|S\/O|shipping\s+order)\s+(?:required|needed|request|release|not\s+received)\b/,
    ),
    f(2.5, /\b(?:confirm|block|need|require|reserve|check)\s+(?:the\s+)?space\b|\bspace\s+(?:confirmation|request|required|needed)\b/i),
    f(1, /\b(?:space|allocation|empty\s+(?:container\s+)?release|release\s+order|empty\s+pick\s*-?up|equipment\s+availability)\b/i),
    f(
      3.5,
      /\b(?:roll|shift|move|transfer|postpone|prepone)\s+(?:our|the|my|this)\s+(?:booking|bkg|cargo|containers?|shipment)(?:\s+(?:no\.?\s*)?[A-Z0-9-]{5,})?\s+(?:to|on)\b/i,
    ),
    // Transport orders: pickups and trucks are booked too.
    f(
      2.5,
      /\b(?:arrange|schedule|book|place)\s+(?:the\s+|a\s+)?(?:pickup|pick-up|collection|truck|vehicle|trailer|empty\s+container|equipment)\b|\b(?:pickup|pick-up|collection|truck|vehicle)\s+request\b/i,
    ),
    // "Confirmed, please go ahead" / "OK, proceed" opening a reply accepts what was offered.
    f(
      2.5,
      /^(?:(?:ok(?:ay)?|confirmed|agreed|accepted|approved|fine)\b[\s,.!]*)?(?:please|pls|kindly)?\s*(?:go\s+ahead|proceed)\b(?!\s+(?:with|to)\s+(?:the\s+)?(?:filing|clearance|payment|surrender|submission))/im,
    ),
    f(0.7, /\b(?:booking|bkg|book)\b/i),
  ],
  shipment_status: [
    f(
      2,
      /\b(?:current|latest|shipment|delivery|vehicle|container|cargo|tracking|status)\s+(?:status|update|position)\b|\bstatus\s+(?:of|update|kya)\b|\bkya\s+status\b/i,
    ),
    f(1.5, /\b(?:status|tracking|track|trace)\b/i),
    f(2, /\bwhere\s+(?:is|are)\b|\bkahan\s+(?:hai|hain)\b/i),
    f(
      2,
      /\b(?:let\s+(?:us|me)\s+know|advise|share|inform|confirm|update|tell\s+(?:us|me))\s+(?:[\w/-]+\s+){0,7}?(?:ETA|ETD|status|position|whereabouts|delivery\s+date|arrival|departure|sailing)\b|\bany\s+update\b/i,
    ),
    f(
      2,
      /\bwhen\s+(?:will|would|can|shall|does|do)\s+(?:it|the\s+\w+|our\s+\w+|we|they)\s+(?:be\s+)?(?:\w+\s+)?(?:arrive|reach|sail|depart|loaded|delivered|discharged|get|receive|move|moved|released|picked)\b|\b(?:vessel|container|cargo|shipment|flight|truck|gaadi)\s+kab\b|\bkab\s+(?:niklega|nikla|pahunchega|aayega|ayega)\b/i,
    ),
    f(1, /\bupdates?\b/i),
    f(0.7, /\b(?:ETA|ETD)\b/),
    f(
      1,
      /(?<!\bnot\s|n'?t\s)\b(?:departed|sailed|discharged|gated?[- ]?(?:in|out)|delivered|arrived|landed|dispatched|picked\s+up|out\s+for\s+delivery|in\s+transit|reached|railed|tran?sh?ipped|stuffed|sealed|loaded\s+(?:on|at)|on\s+board|empt(?:y|ies)\s+(?:will\s+be\s+|were\s+|are\s+)?returned|left\s+(?:at|from|the|for)|leaving\s+for|on\s+the\s+way|en\s*route|berthed|handed\s+over)\b/i,
    ),
    f(1.5, /\b(?:expected|scheduled|likely)\s+to\s+(?:be\s+)?(?:discharged|arrive|reach|sail|depart|delivered|loaded|berth)\b/i),
    f(1, /\breturned\s+(?:to|at)\s+(?:the\s+)?(?:CFS|depot|yard|terminal|line|port|ICD)\b/i),
    f(1.5, /\b(?:stuck|lying\s+at|held\s+up|stranded|waiting\s+for\s+(?:the\s+)?(?:feeder|connection|vessel))\b/i),
    f(
      2.5,
      /\b(?:stuffing|de-?stuffing|loading|unloading|gate[- ]?in|gate[- ]?out|delivery|pick[- ]?up|dispatch|discharge)\s+(?:is\s+|has\s+been\s+|was\s+)?(?:done|completed|complete|finished|successful)\b/i,
    ),
    f(0.7, /\b(?:vehicle|truck|trailer|driver|train|rake|flight)\b/i),
    f(
      2,
      /\b(?:containers?|cntrs?|boxes|cargo|goods|shipments?|consignments?|pallets|packages|pcs|vessel|flight|truck|vehicle|train)\s+(?:(?!not\b|never\b|didn'?t\b|yet\b)[\w/-]+\s+){0,3}(?:has\s+|have\s+|was\s+|were\s+|is\s+)?(?:already\s+)?(?:been\s+)?(?:received|arrived|delivered|reached|departed|sailed|discharged|loaded|returned|gated\s+(?:in|out)|picked\s+up|landed|dispatched|despatched|shipped|moved|left|handed\s+over|berthed)\b/i,
    ),
    f(
      2,
      /\b(?:has|have|is|was)\s+(?:the\s+|our\s+)?(?:vessel|flight|it|container|cntr|cargo|shipment|truck|train|boxes?)\s+(?:already\s+)?(?:sailed|departed|arrived|reached|left|loaded|landed|delivered|discharged)\b/i,
    ),
    f(3, /\barrival\s+notice\b|\bnotice\s+of\s+arrival\b/i),
    f(1.5, /\b(?:vessel|flight|train|truck)\s+(?:nikla|departed|sailed|left|arrived)\b|\bnikla\s+ya\s+nahi\b/i),
  ],
  document_submission: [
    f(2, new RegExp(ATTACH, 'i')),
    f(3.5, new RegExp(String.raw`${ATTACH}[^\n]{0,60}?${DOC}`, 'i')),
    f(2.5, new RegExp(String.raw`${DOC}[^.\n?]{0,30}?\b(?:attached|enclosed)\b(?!\s+(?:is|are)\s+(?:missing|not))`, 'i')),
    f(2.5, /\bpre[- ]?alert\b(?![^.\n]{0,20}\?)/i),
    f(2.5, /\bdraft\s+(?:H|M)?B\/?L\s+(?:is\s+|has\s+been\s+)?(?:approved|ok|okay|confirmed|checked)\b|\b(?:approved|marked[- ]up|corrected)\s+draft\b/i),
    f(1.5, /\b(?:signed|duly\s+signed|stamped|on\s+(?:our|the)\s+letterhead)\b/i),
    f(1, /\bplease\s+(?:acknowledge|check|confirm)\s+(?:the\s+)?(?:receipt|and\s+(?:revert|confirm))\b|\backnowledge\s+receipt\b/i),
    f(1.5, /^(?:docs?|documents?|POD|COO|SI\b|VGM|draft\s+B\/?L)/i),
    f(1, /\bfor\s+your\s+(?:records|reference|perusal)\b/i),
  ],
  document_request: [
    f(
      2.5,
      new RegExp(
        String.raw`\b(?:share|send|provide|forward|issue|arrange|submit|mail|e-?mail|need|needs|require|requires|required|want|missing|awaiting|await|waiting\s+for|release)\b[^.\n?]{0,80}?${DOC}`,
        'i',
      ),
    ),
    f(2.5, new RegExp(String.raw`\b(?:still\s+)?no\s+${DOC}`, 'i')),
    f(
      2.5,
      new RegExp(
        String.raw`${DOC}[^.\n]{0,30}?\b(?:missing|pending|not\s+(?:yet\s+)?(?:received|released|issued)|still\s+not\s+received|awaited|required|needed)\b|${DOC}\s+(?:please|pls|plz)\b`,
        'i',
      ),
    ),
    f(
      3,
      new RegExp(
        String.raw`${DOC}\s+${WHEN_WILL_WE_GET}|${DOC}\s+(?:bhej|bhejo|bhejiye|share\s+karo|de\s+do)\b|\b(?:send|share)\s+(?:the\s+)?${DOC}\s*\?`,
        'i',
      ),
    ),
    f(2, /\brequest(?:ing)?\s+(?:for\s+)?(?:a\s+|the\s+)?(?:copy|copies|documents?|docs)\b|\b(?:copy|copies)\s+of\b|\brequest\s+docs?\b/i),
    f(
      2.5,
      /\bdocuments?\s+(?:required|needed|requested|pending|missing)\b|\bremind\w*\s+you\s+that\b|\b(?:have\s+)?not\s+(?:yet\s+)?received\s+the\s+(?:shipping\s+instructions?|SI|VGM)\b/i,
    ),
    f(1, /\b(?:kindly|please|pls|can\s+you|could\s+you)\s+(?:\w+\s+){0,2}(?:send|share|provide|issue)\b/i),
  ],
  invoice_payment: [
    f(2, /(?<!commercial\s)(?<!proforma\s)\binvoices?\b(?!\s*(?:,|&|and|\/)\s*(?:packing|PL\b))/i),
    f(2, /\b(?:send|share|issue|raise|provide|forward)\s+(?:us\s+)?(?:the\s+|your\s+|a\s+|an\s+)?(?:[\w-]+\s+){0,2}invoices?\b/i),
    f(
      1.5,
      /\b(?:payments?|pay|remit(?:ted|tance)?|paid|NEFT|RTGS|UTR|IMPS|wire\s+transfer|TT\s+copy|swift\s+copy|bank\s+transfer|transferred|settlement|settled)\b/i,
    ),
    f(
      2,
      /\b(?:outstanding|overdue|dues|due\s+date|statement\s+of\s+account|SOA|ledger|reconcil\w*|debit\s+note|credit\s+note|short\s+payment|short[- ]paid|TDS|receivables?|payables?|bank\s+details|bank\s+account|beneficiary\s+account|IFSC|account\s+details|unpaid)\b/i,
    ),
    f(1.5, /(?<!shipping\s)(?<!air\s?way)\bbills?\b(?!\s+of\s+(?:lading|entry))|\bbilled\b|\bcharged\b/i),
    f(3, /\bpayment\s+(?:advice|reminder|pending|release|follow[- ]?up|due|kab)\b|\bremittance\s+advice\b/i),
    f(
      2.5,
      /\b(?:dispute|disputed|wrongly\s+charged|over-?charged|charged\s+twice|double\s+(?:charged|billed|billing)|excess\s+(?:charge|amount)|revised\s+invoice|waive[rd]?|waiver|write[- ]off|refund)\b/i,
    ),
    f(0.5, /\b(?:charges?|amount|INR|USD|Rs\.?)\b/i),
  ],
  complaint: [
    f(3.5, /\bcomplain(?:t|ts|ing)?\b/i),
    f(2, /\b(?:claim|surveyor|survey\s+report|insurers?|liable|liability)\b/i),
    f(
      1.5,
      /\b(?:damaged?|crushed|broken|wet|water[- ]stained|leak\w*|torn|dented|pilfer\w*|theft|stolen|rejected|lost|contaminat\w*|spoil\w*|rotten|melted|thawed)\b/i,
    ),
    f(1.5, /\b(?:joint\s+survey|survey|insurance\s+(?:company|claim)|claim\s+(?:notice|form|letter))\b/i),
    f(
      2,
      /\bshort(?:age|[- ]delivery|[- ]shipped|[- ]landed|[- ]received)\b|\b\d+\s*(?:pcs|pieces|cartons|packages|boxes|ctns|bags)\s+(?:short|missing|are\s+missing)\b|\bmissing\s+(?:pieces|cartons|packages|boxes|pcs)\b/i,
    ),
    f(3, /\bescalat\w*/i),
    f(
      2.5,
      /\b(?:compensat\w*|reimburs\w*|(?:cover|bear)\s+(?:all\s+|the\s+|these\s+)?(?:costs?|charges|losses|expenses)|hold\s+(?:you|your\s+\w+|the\s+\w+)\s+(?:responsible|liable)|responsible\s+for\s+the\s+loss|your\s+(?:mistake|fault|negligence|error)|reserve\s+(?:our|the)\s+right)\b/i,
    ),
    f(
      2,
      /\b(?:very\s+bad|poor|worst|pathetic|unprofessional|terrible|horrible|shoddy|careless|rude)\s+(?:service|handling|communication|support|response|experience|behaviou?r)\b|\bvery\s+bad\b|\b(?:behaviou?r|rude|misbehav\w*)\b/i,
    ),
    f(
      1.5,
      /\b(?:wrong|incorrect)\s+(?:consignee|shipper|notify|name|delivery|address|cargo|container|B\/?L|details|weight|warehouse|location|place|party|destination|port)\b|\bmis-?deliver\w*/i,
    ),
    f(
      2,
      /\b(?:ensure|make\s+sure)\s+(?:that\s+)?(?:this|it|such\s+\w+)\s+(?:never|does\s+not|doesn'?t|will\s+not|won'?t)\s+happen\b|\bnever\s+happen(?:s)?\s+again\b|\bstrict\s+action\b/i,
    ),
    f(1.5, /\b(?:didn'?t|did\s+not|never|has\s+not|hasn'?t)\s+(?:turn(?:ed)?\s+up|show(?:ed)?\s+up|come|reach(?:ed)?)\b|\bno[- ]show\b/i),
    f(1.5, /\b(?:nobody|no\s+one|no-one)\s+(?:answers|answered|is\s+answering|picks?\s+up|informed|is\s+telling|responds|replied|knows|called)\b/i),
    f(
      1.5,
      /\b(?:investigat\w*|root\s+cause|(?:written\s+)?explanation|corrective\s+action|call\s+with\s+your\s+management|your\s+management|your\s+manager)\b/i,
    ),
    f(2, /\b(?:unhappy|dissatisfied|not\s+(?:happy|satisfied))\s+(?:with|about)\b/i),
    f(2, /\b(?:rolled\s+(?:over\s+)?(?:twice|again|repeatedly)|repeated\s+(?:rollovers?|delays?|failures?|mistakes?)|service\s+failures?)\b/i),
    f(1.5, /\b(?:second|third|2nd|3rd|another)\s+(?:damage|case|incident|time\s+this\s+(?:week|month))\b/i),
    f(1, /\b(?:look\s+for\s+another|another\s+(?:partner|vendor|service\s+provider)|reconsider\w*|stop\s+(?:giving|working))\b/i),
  ],
  customs: [
    f(1.5, /\bcustoms?\b(?!\s+broker)/i),
    f(2.5, /\b(?:BE|B\/E|bill\s+of\s+entry|shipping\s+bill|S\/B|SB)\s*(?:no\.?|nos\.?|number|#)?\s*[:.-]?\s*\d{5,}/i),
    f(2, /\b(?:bill\s+of\s+entry|shipping\s+bill|S\/B|B\/E)\b|\b(?:SB|BE)\s+(?:amendment|filing|filed|copy)\b/i),
    f(
      2.5,
      /\b(?:LEO|let\s+export\s+order|out\s+of\s+charge|OOC|ICEGATE|CTH|RMS|IGM|EGM|ICS2|ENS|appraising|appraiser|assessment|assessed|classification|classified|drawback|RoDTEP|first\s+check|second\s+check)\b/i,
    ),
    f(
      2,
      /\b(?:examination|exam\s+report|(?:customs|officer)\s+(?:query|queries)|query\s+(?:reply|raised)|raised\s+a\s+query|(?:placed\s+)?on\s+hold\s+by\s+customs|customs\s+hold|preventive|scanning|x-?ray\s+scan|inspection)\b/i,
    ),
    f(2, /\b(?:duty|duties)\s+(?:payment|amount|payable|paid|challan|drawback|is\s+paid)\b|\b(?:customs|import|basic)\s+duty\b|\b(?:BCD|IGST|SWS)\b/i),
    f(1, /\b(?:duty|clearance|cleared|declaration|officer|CHA|AEO)\b/i),
    // A chase about clearance is customs, not shipment status.
    f(
      2.5,
      /\b(?:not|never|yet\s+to\s+be)\s+(?:been\s+|yet\s+)?cleared\b|\bclearance\s+(?:status|delay\w*|pending|not\s+done)\b|\b(?:status|update)\s+(?:of|on)\s+(?:the\s+|our\s+)?(?:customs|clearance|assessment|BE|bill\s+of\s+entry|shipping\s+bill|examination)\b/i,
    ),
  ],
  schedule_change: [
    f(
      3,
      /\b(?:revised|new|updated|changed?|previous|original|earlier)\s+(?:ETA|ETD|ETB|schedule|cut[- ]?offs?|sailing|vessel|rotation|flight|routing|berthing)\b/i,
    ),
    f(
      2.5,
      /\b(?:ETA|ETD|ETB|schedule|sailing|departure|vessel|flight|cut[- ]?off)\b(?:\s+(?!not\b)[\w/.-]+){0,6}?\s+(?:has\s+been|have\s+been|is|was|got|are|were)\s+(?:again\s+|now\s+)?(?:changed|postponed|delayed|pushed|revised|advanced|preponed|cancell?ed|shifted|extended|replaced|omitted|blanked)\b/i,
    ),
    f(1.5, /\b(?:delay(?:ed|s)?|postponed|pushed|advanced|preponed|rescheduled|deferred|late\s+arrival|arrive\s+late|revised\s+to)\b/i),
    f(2, /\b(?:is|are)\s+now\s+(?:expected|scheduled|planned|due)\b|\binstead\s+of\s+(?:the\s+)?(?:\d|earlier|previous|original|planned|scheduled)/i),
    f(2.5, /\b(?:roll(?:ed)?[- ]?over|rolled|rollover|rolled\s+to|offload(?:ed)?|off-loaded)\b/i),
    f(3.5, /\bblank(?:ed)?\s+sailing|\bblank\s+the\b|\bomi(?:t|ts|tted|ssion)\b|\bport\s+omission\b|\bskip(?:ping)?\s+(?:the\s+)?(?:call|port)\b/i),
    f(
      3.5,
      /\b(?:vessel|ship)\s+(?:substitution|swap|change)\b|\bchange\s+of\s+(?:vessel|cut[- ]?off|schedule|rotation)\b|\bschedule\s+change\b|\b(?:replaced|substituted)\s+by\b/i,
    ),
    f(
      2.5,
      /\b(?:flight|sailing|voyage)\s+(?:cancel\w*|change|delay\w*)\b|\b(?:has\s+been|was|is|got)\s+(?:cancell?ed|rebooked|rolled)\b|\brebooked\b|\bwill\s+now\s+(?:fly|sail|depart|move|load|arrive)\b/i,
    ),
    f(1.5, /\b(?:advisory|customer\s+advisory|congestion|adverse\s+weather|bad\s+weather|berthing|capacity\s+constraints?|payload\s+restrictions?)\b/i),
    f(1, /\b(?:schedule|cut[- ]?off)\b/i),
  ],
  general: [
    f(
      6,
      /\b(?:out\s+of\s+(?:the\s+)?office|(?:away|absent)\s+from\s+(?:the\s+)?office|on\s+(?:annual\s+|sick\s+|maternity\s+)?leave\s+(?:until|till|from|on)|on\s+(?:vacation|holiday)\s+(?:until|till)|abwesenheitsnotiz|nicht\s+im\s+büro|automatic\s+reply|auto[- ]?reply|(?:limited|no)\s+access\s+to\s+(?:my\s+)?e-?mail)\b/i,
    ),
    f(
      3,
      /\boffices?\s+(?:will\s+)?(?:remain\s+|be\s+|is\s+)?closed\b|\bclosed\s+on\s+account\s+of\b|\bon\s+account\s+of\s+(?:the\s+)?(?:festival|holiday|diwali|eid|id|christmas|independence\s+day|republic\s+day)\b|\bholiday\s+(?:notice|list)\b/i,
    ),
    f(
      2.5,
      /\b(?:partnership|cooperation|co-operation|collaborat\w*|introduc(?:e|ing|tion)|company\s+profile|business\s+development|agency\s+agreement|network\s+partner|joins?\s+our\s+team|(?:has\s+)?left\s+the\s+(?:company|organi[sz]ation)|new\s+(?:team\s+)?member|point\s+of\s+contact\s+(?:going\s+forward|from\s+now))\b/i,
    ),
    f(
      2.5,
      /\b(?:contact\s+person|point\s+of\s+contact|new\s+(?:e-?mail|contact|phone|mobile)|update\s+(?:our|the|your)\s+(?:contact|records|e-?mail|address|details)|change\s+of\s+(?:registered\s+)?(?:address|office)|registered\s+(?:office|address)|KYC|updated\s+(?:GST|KYC)|address\s+proof|new\s+address|shifted\s+to|has\s+shifted)\b/i,
    ),
    f(
      2.5,
      /\b(?:general\s+rate\s+increase|GRI|PSS|peak\s+season\s+surcharge|rate\s+restoration|bunker\s+adjustment|BAF|emergency\s+(?:bunker\s+)?surcharge|surcharge\s+(?:will\s+)?apply)\b/i,
    ),
    f(
      2,
      /\b(?:announcement|announce|newsletter|webinar|invitation|invite\s+you|conference|exhibition|trade\s+fair|seminar|season'?s\s+greetings|greetings|wishing\s+you|happy\s+(?:new\s+year|diwali|holi|eid|holidays)|congratulations|anniversary|years\s+(?:together|of\s+(?:working|partnership|association)))\b/i,
    ),
    f(3, /\b(?:unsubscribe|mailing\s+list|distribution\s+list|remove\s+(?:me|my\s+(?:name|e-?mail)|this\s+(?:address|e-?mail)))\b/i),
    f(
      2.5,
      /\b(?:pleasure\s+(?:to\s+meet|meeting|working)|nice\s+(?:to\s+meet|meeting)|great\s+(?:to\s+meet|meeting)|hospitality|thank\s+you\s+for\s+all\s+the)\b/i,
    ),
    f(1, /\b(?:effective|with\s+effect\s+from|w\.e\.f\.?|until\s+further\s+notice|going\s+forward)\b/i),
  ],
};

/** Ties go to the more specific intent. */
const PRIORITY: readonly Intent[] = [
  'complaint',
  'customs',
  'schedule_change',
  'invoice_payment',
  'booking_request',
  'quote_request',
  'document_request',
  'document_submission',
  'shipment_status',
  'general',
];

/** Below this score nothing is specific enough: the message is `general`. */
const MIN_INTENT_SCORE = 1.2;
const SUBJECT_WEIGHT = 1.25;
/** A reply's subject is the thread's original topic; this message may be about something else. */
const REPLY_SUBJECT_WEIGHT = 0.75;
const SHORT_REPLY = 120;
const HISTORY_WEIGHT = 0.4;

export interface IntentScores {
  intent: Intent;
  scores: Record<Intent, number>;
}

function scoreFeatures(features: Feature[], text: string): number {
  let total = 0;
  for (const feature of features) if (feature.re.test(text)) total += feature.w;
  return total;
}

export function classifyIntent(prepared: PreparedText): IntentScores {
  const scores = {} as Record<Intent, number>;
  for (const intent of PRIORITY) {
    const features = INTENT_FEATURES[intent];
    // Subject and body each count, the subject a little more (it names the topic); a phrase in both
    // counts for both, once each.
    const subjectWeight = prepared.isReply ? REPLY_SUBJECT_WEIGHT : SUBJECT_WEIGHT;
    scores[intent] = scoreFeatures(features, prepared.subject) * subjectWeight + scoreFeatures(features, prepared.content);
    // A short reply ("Confirmed, please go ahead", "ok noted") means what it answers: the quoted
    // history counts a little.
    if (prepared.content.length < SHORT_REPLY && prepared.history) scores[intent] += scoreFeatures(features, prepared.history) * HISTORY_WEIGHT;
  }
  let best: Intent = 'general';
  let bestScore = -1;
  for (const intent of PRIORITY) {
    if (scores[intent] > bestScore) {
      best = intent;
      bestScore = scores[intent];
    }
  }
  if (bestScore < MIN_INTENT_SCORE && best !== 'general') best = 'general';
  return { intent: best, scores };
}

// ---- Sentiment ----------------------------------------------------------------------------------

// Polite formulae and notices that look like sentiment but carry none; removed before scoring.
const NEUTRAL_PHRASES: RegExp[] = [
  /\b(?:thanks?|thank\s+you)\s+(?:in\s+advance|&\s*regards|and\s+regards|for\s+your\s+(?:understanding|patience|cooperation|co-operation|support\s+in\s+advance|attention|email|mail|message|reply|enquiry|inquiry|query))\b/gi,
  /\b(?:do\s+the\s+needful|kindly|request\s+you\s+to)\b/gi,
  /\b(?:we\s+)?(?:apologi[sz]e|regret)\s+(?:for\s+)?(?:any|the)\s+inconvenience(?:\s+caused)?\b/gi,
  /\bsorry\s+for\s+the\s+(?:delay|late\s+reply|inconvenience)\b/gi,
  /\b(?:no|without\s+any|without)\s+(?:damage|problems?|issues?|remarks|complaints?|action\s+(?:is\s+)?required)\b/gi,
  /\bnot\s+(?:be\s+)?affected\b/gi,
  /\b(?:for|in\s+case\s+of)\s+any\s+(?:dispute|queries|questions|issues?|clarification)\b/gi,
  /\bno\s+(?:action|changes?)\b/gi,
];

// Praise negated ("not happy", "not at all satisfied with", "never reliable") says the opposite: it is
// taken out of the text before the positive lexicon reads it, and counts as dissatisfaction.
const NEGATED_PRAISE =
  /\b(?:not|never|hardly|no\s+longer|nowhere\s+near)\s+(?:(?:at\s+all|very|really|so|too|that|quite|entirely|fully|particularly|even)\s+)?(?:happy|satisfied|satisfactory|pleased|impressed|good|great|smooth|reliable|helpful|professional|up\s+to\s+the\s+mark)\b(?:\s+with)?/gi;

// Thanks followed by a contrast ("Thanks for the update, but…", "Thank you for your reply. However, …")
// is politeness before the real message: the thanks counts for nothing, and the contrast is a mild
// sign of dissatisfaction.
const THANKS_BEFORE_CONTRAST = /\b(?:many\s+thanks|thanks?|thank\s+you)\b[^.!?\n]{0,80}?(?:[,;.]\s*|\s+)(?=(?:but|however|even\s+so|nevertheless)\b)/gi;

// Trouble negated as feedback ("no complaints from our side", "not a single issue", "everything went
// smoothly") reads as satisfaction; a bare "no issues" / "no damage" stays neutral (NEUTRAL_PHRASES).
const TROUBLE_FREE =
  /\b(?:no\s+complaints?\s+(?:from|at\s+all|so\s+far|whatsoever)|not\s+(?:a\s+single|one|any)\s+(?:complaint|issue|problem|hiccup)|no\s+(?:issues?|problems?|hiccups?|complaints?)\s+(?:at\s+all|whatsoever)|everything\s+went\s+(?:smoothly|well|fine|perfectly))\b/i;

const NEGATIVE: Feature[] = [
  f(
    2,
    /\b(?:complain(?:t|ts|ing|ed)?|strict\s+action|unacceptable|not\s+acceptable|disappoint\w*|escalat\w*|frustrat\w*|unhappy|dissatisfied|annoy\w*|fed\s+up|pathetic|worst|horrible|terrible|disgust\w*|ridiculous|shameful|irresponsible|unprofessional|not\s+happy|not\s+satisfied|very\s+bad|(?:poor|bad)\s+service)\b/i,
  ),
  f(
    2,
    /\b(?:your\s+(?:mistake|fault|negligence|error)|for\s+the\s+last\s+time|losing\s+(?:face|business|customers?|the\s+customer|our\s+customer)|lost\s+(?:one\s+|a\s+|our\s+)?customers?|compensat\w*|hold\s+you\s+(?:responsible|liable)|reserve\s+(?:our|the)\s+right|legal\s+action|formal(?:ly)?\s+(?:complaint|notice|lodge|escalate)|notice\s+of\s+claim)\b/i,
  ),
  f(2, /\b(?:2nd|3rd|4th|second|third|fourth|final|last)\s+reminder\b|\breminder\s*(?:#|no\.?)?\s*[2-9]\b|\b(?:third|3rd|fourth|4th)\s+(?:email|mail|time)\b/i),
  f(1.5, /\bstill\s+(?:no|not|without|haven'?t|hasn'?t|didn'?t|waiting|awaiting)\b|\btill\s+now\s+(?:there\s+is\s+)?(?:no|not|nothing)\b|\babhi\s+tak\b/i),
  f(
    1,
    /\bno\s+(?:reply|response|update|answer|communication|information|revert|feedback)\b|\b(?:not|never)\s+(?:informed|replied|updated|responded|picking|answering)\b/i,
  ),
  f(1, /\b(?:nobody|no\s+one|no-one)\b/i),
  f(1.5, /\b(?:will|shall)\s+not\s+(?:accept|pay|tolerate|process)\b|\bhold\s+(?:you|your\s+\w+|the\s+\w+)\s+(?:responsible|liable)\b|\bthreaten\w*/i),
  f(1, /\b(?:again|repeated(?:ly)?|every\s+(?:day|hour|time)|each\s+time|in\s+a\s+row|daily|second\s+time|twice|take\s+this\s+seriously)\b/i),
  f(1, /\bwhy\s+(?:is|are|was|were|has|have|did|do|no|not|hasn'?t|haven'?t|isn'?t)\b|\bwho\s+will\s+pay\b|\bhow\s+(?:can|could)\s+you\b/i),
  f(
    1.5,
    /\b(?:because\s+of\s+(?:you|your|this\s+delay|the\s+delay)|paying\s+(?:ground\s+rent|demurrage|detention|storage|penalty)|penalty|forced\s+to|another\s+(?:forwarder|partner|vendor)|elsewhere|warna|seriously\s+reconsider\w*)\b/i,
  ),
  f(
    1,
    /\b(?:damaged?|crushed|shortage|short\s+delivery|rejected|wrong|incorrect|not\s+correct|typo|mistakes?|overcharged|lost|stolen|theft|pilfer\w*|tampered|serious\s+(?:matter|issue|concern|lapse))\b/i,
  ),
  f(1, /\b(?:claims?|dispute|disputed|surveyor|negligence|liable)\b/i),
  f(1, /\b(?:immediately|urgently|today\s+itself|right\s+now|at\s+once)\b/i),
  f(1, /\b(?:too|very|extremely|bahut|bohot|bahot)\s+(?:high|expensive|costly|late|slow)\b|\bnot\s+competitive\b/i),
  // Disputes: the sender refuses a charge or a statement.
  f(
    2,
    /\b(?:(?:strongly\s+)?object(?:s|ed|ing)?\s+to|not\s+payable|(?:do|does|did)\s+not\s+agree|don'?t\s+agree|disagree|not\s+agreeable|contest(?:s|ed|ing)?\s+(?:the|this|your))\b/i,
  ),
  // Escalation above the person written to.
  f(
    1.5,
    /\b(?:take\s+(?:it|this|the\s+matter)\s+up|raise\s+(?:it|this)|escalate\s+(?:it|this))\s+with\s+(?:your\s+)?(?:senior\s+)?(?:management|MD|CEO|director|head|boss)\b|\b(?:your|the)\s+(?:senior\s+management|managing\s+director|MD|CEO)\b/i,
  ),
  // Hinglish exasperation: "kitni baar" (how many times), "kab tak" (until when), "theek nahi" (not OK),
  // "koi jawab nahi" (no answer), "koi utha nahi raha" (nobody picks up).
  f(1.5, /\b(?:kitni\s+baar|kitne\s+din\s+(?:se|ho\s+gaye)|kab\s+tak|har\s+baar)\b/i),
  f(2, /\b(?:theek|thik|sahi)\s+nahi\b/i),
  f(
    1.5,
    /\bkoi\s+(?:jawab|reply|response|update|khabar)\s+nahi\b|\b(?:koi|phone)\s+(?:utha|uthaa|pick)\s*(?:nahi|nhi)\b|\bkoi\s+(?:\w+\s+)?(?:utha|pick\s+kar)\s*(?:nahi|nhi)\b/i,
  ),
  // A broken promise: "we were assured", "you had promised".
  f(1.5, /\b(?:we\s+were|i\s+was)\s+(?:assured|promised)\b|\b(?:you|your\s+(?:team|office|staff|ops|person))\s+(?:had\s+)?(?:promised|assured|committed)\b/i),
  // Rhetorical questions: "how are we supposed to…", "what is going on?", "kya ho raha hai".
  f(1, /\bhow\s+(?:are|am|is)\s+(?:we|i)\s+supposed\s+to\b|\bwhat\s+is\s+(?:going\s+on|happening)\b|\bkya\s+ho\s+raha\s+hai\b/i),
  // Refusing to pay, and a charge above the agreed one.
  f(
    1.5,
    /\bnot\s+in\s+a\s+position\s+to\s+(?:pay|accept|process|release|honou?r)\b|\b(?:higher|more)\s+than\s+(?:what\s+(?:was|is)\s+)?(?:quoted|agreed|offered|committed)\b|\bnot\s+as\s+(?:per\s+)?(?:quoted|agreed|the\s+(?:quote|agreed\s+rate))\b/i,
  ),
  // What the failure costs the sender, and chasing that has gone on.
  f(1.5, /\b(?:costing|cost)\s+us\b|\blosing\s+money\b|\b(?:put|puts|putting)\s+(?:our|the)\s+(?:relationship|business|order)\b[^.\n]{0,20}\bat\s+risk\b/i),
  f(
    1.5,
    /\b(?:waiting|calling|chasing|following\s+up|asking|reminding)\b[^.?!\n]{0,30}\b(?:since\s+(?:last|yesterday|morning|monday|tuesday|wednesday|thursday|friday|saturday|sunday|\d)|for\s+(?:the\s+last\s+)?(?:\d+|two|three|four|five|several|many)\s+(?:days|weeks))\b|\b(?:kal|subah|\d+\s+din|do\s+din|teen\s+din|hafte)\s+se\b[^.?!\n]{0,30}\b(?:phone|call|wait\w*|intezaar|pending|khada|khadi|ruk\w*|chase|follow)/i,
  ),
  // Service judged below the mark.
  f(
    2,
    /\b(?:below|short\s+of)\s+(?:our\s+|the\s+)?expectations?\b|\bnot\s+up\s+to\s+(?:the\s+mark|expectations?|standard)\b|\bsorry\s+to\s+say\b|\bfar\s+from\s+(?:satisfactory|acceptable)\b/i,
  ),
];

const POSITIVE: Feature[] = [
  f(
    2,
    /\b(?:many\s+thanks|thank\s+you\s+(?:so|very)\s+much|thanks\s+(?:a\s+lot|a\s+ton|so\s+much)|big\s+thank\s+you|heartfelt|really\s+appreciate|much\s+appreciated|greatly\s+appreciate\w*|highly\s+appreciate\w*|grateful|excellent|outstanding\s+(?:service|support|job|work)|great\s+(?:working|to\s+work)\s+with|wonderful|fantastic|superb|great\s+(?:job|work|service|support)|very\s+good\s+(?:service|coordination|co-ordination|support|job|work)|perfect\s+condition|very\s+happy|delighted|pleased\s+with|happy\s+with|satisfied\s+with|well\s+done|kudos|(?:always\s+a\s+|real\s+)?pleasure\s+(?:working|to\s+work|to\s+meet|meeting)|thank\s+you\s+for\s+the\s+(?:excellent|great|good|reliable|prompt|quick|hospitality))\b/i,
  ),
  f(2, /\b(?:congratulations|congrats|best\s+wishes|wishing\s+you)\b/i),
  // A compliment on the work: "good job", "good work", "nice work".
  f(2, /\b(?:good|nice|brilliant|awesome)\s+(?:job|work)\b/i),
  f(
    1,
    /\b(?:appreciate|thank\s+you\s+for|thanks\s+for|thanks\s+to\s+(?:you|your|the\s+team)|great|prompt|smooth(?:ly)?|reliable|looking\s+forward\s+to\s+(?:continuing|many|more|working)|well\s+received|in\s+good\s+condition|intact|perfect(?!\s+condition))\b/i,
  ),
  // Hindi thanks and praise (a closing "Dhanyavaad" line is cut off with the signature).
  f(1, /\b(?:shukriya|dhanyavaad|dhanyawad|dhanyavad)\b|\bbahut\s+(?:help|madad|badhiya|accha|achha|acha)\b/i),
  f(0.5, /(?::\)|🙂|😊|🙏|👍)/u),
];

// In a message of a line or two (a chat message, a one-line reply) thanks is the message, not a
// pleasantry around a request: it counts once more.
const SHORT_MESSAGE = 160;
const GRATITUDE = /\b(?:thanks?|thank\s+you)\s+(?:for|to)\b|\bappreciat\w*|\bgrateful\b|\b(?:shukriya|dhanyavaad|dhanyawad|dhanyavad)\b/i;
const GREETING_LINE = /^\s*(?:dear|hi|hello|hey|good\s+(?:morning|afternoon|evening)|namaste|namaskar)\b[^\n]{0,40}\n/i;

/**
 * A sentiment lexicon's score: each feature counts once per distinct cue it finds, up to two ("thanks to
 * you… smooth clearance… all intact" is more than one cue of the same kind).
 */
function scoreCues(features: Feature[], text: string): number {
  let total = 0;
  for (const feature of features) {
    const cues = new Set([...text.matchAll(new RegExp(feature.re.source, `${feature.re.flags.replace('g', '')}g`))].map((m) => m[0].toLowerCase()));
    total += feature.w * Math.min(2, cues.size);
  }
  return total;
}

export interface SentimentReading {
  sentiment: Sentiment;
  score: number;
  negative: number;
  positive: number;
}

function shouting(text: string): number {
  // Capitalised words ("AGAIN", "TODAY") that are not codes, identifiers or headings of carrier notices.
  const words = text.match(/\b[A-Z]{4,}\b/g) ?? [];
  const emphatic = words.filter((w) => /^(?:AGAIN|TODAY|NOW|STILL|NEVER|NOBODY|URGENT|IMMEDIATELY|WHY|NOT|WORST|ASAP|REMINDER|ESCALATION)$/.test(w));
  return Math.min(1.5, emphatic.length * 0.75);
}

export function readSentiment(prepared: PreparedText): SentimentReading {
  let text = `${prepared.subject}\n${prepared.content}`;
  const troubleFree = TROUBLE_FREE.test(text) ? 1 : 0;
  for (const re of NEUTRAL_PHRASES) text = text.replace(re, ' ');
  const contrast = text.match(THANKS_BEFORE_CONTRAST) ? 1 : 0;
  text = text.replace(THANKS_BEFORE_CONTRAST, ' ');
  const negatedPraise = text.match(NEGATED_PRAISE)?.length ?? 0;
  text = text.replace(NEGATED_PRAISE, ' NEGATED ');
  let negative = scoreCues(NEGATIVE, text) + shouting(text) + Math.min(2, negatedPraise * 2) + contrast;
  // "!!", "??", "?!": exasperation.
  if (/[!?]{2,}/.test(text)) negative += 1;
  const short = prepared.content.replace(GREETING_LINE, '').trim().length <= SHORT_MESSAGE;
  const positive = scoreCues(POSITIVE, text) + troubleFree + (short && GRATITUDE.test(text) ? 1 : 0);
  let sentiment: Sentiment = 'neutral';
  if (negative >= 2 && negative >= positive) sentiment = 'negative';
  else if (positive >= 2 && positive > negative) sentiment = 'positive';
  const raw = Math.tanh((positive - negative) / 4);
  // Keep the score on the side of the label (a neutral score stays near zero).
  const score = sentiment === 'negative' ? Math.min(-0.3, raw) : sentiment === 'positive' ? Math.max(0.3, raw) : Math.max(-0.25, Math.min(0.25, raw));
  return { sentiment, score: Math.round(score * 100) / 100, negative, positive };
}

// ---- Urgency ------------------------------------------------------------------------------------

const CRITICAL_RE =
  /\b(?:production\s+(?:line\s+)?(?:stop\w*|halt\w*|down|is\s+waiting|line\s+is\s+waiting)|line\s+stoppage|plant\s+shut\w*|legal\s+action|LC\s+(?:expir\w*|expiry)|penalty|losing\s+(?:the\s+)?(?:customer|business|order)|trucks?\s+(?:are\s+|is\s+)?(?:waiting|standing))\b/i;
const HIGH_RE =
  /\b(?:urgent\w*|asap|a\.s\.a\.p|immediately|at\s+the\s+earliest|today|tonight|by\s+(?:eod|cob|tomorrow|noon)|eod|within\s+\d+\s+(?:hours|hrs)|top\s+priority|on\s+priority|time[- ]sensitive|cut[- ]?off|deadline|jaldi|turant)\b/i;

export function readUrgency(prepared: PreparedText, intent: Intent, sentiment: SentimentReading): Urgency {
  const text = `${prepared.subject}\n${prepared.content}`;
  const high = HIGH_RE.test(text);
  const negative = sentiment.sentiment === 'negative';
  if (negative && (CRITICAL_RE.test(text) || sentiment.negative >= 7)) return 'critical';
  // Out-of-office notes, greetings and announcements name deadlines ("for urgent matters") that are not asks.
  if (intent === 'general' && !negative) return 'low';
  if (high || negative || intent === 'complaint') return 'high';
  if (sentiment.sentiment === 'positive' && !/\?/.test(text)) return 'low';
  return 'normal';
}

// ---- Language -----------------------------------------------------------------------------------

const STOPWORDS: Record<string, string[]> = {
  en: [
    'the',
    'and',
    'to',
    'of',
    'for',
    'is',
    'please',
    'we',
    'you',
    'our',
    'with',
    'your',
    'this',
    'kindly',
    'are',
    'have',
    'will',
    'be',
    'on',
    'in',
    'it',
    'as',
    'at',
    'from',
    'pls',
    'shipment',
    'thanks',
  ],
  de: [
    'der',
    'die',
    'das',
    'und',
    'ist',
    'nicht',
    'wir',
    'sie',
    'ich',
    'mit',
    'für',
    'bitte',
    'vielen',
    'dank',
    'ihre',
    'ihnen',
    'den',
    'dem',
    'ein',
    'eine',
    'auf',
    'zu',
    'uns',
    'wenden',
    'sendung',
    'grüße',
  ],
  nl: ['het', 'een', 'niet', 'wij', 'met', 'voor', 'graag', 'groet', 'bedankt', 'van', 'zijn', 'ons', 'onze', 'uw', 'zending', 'alvast'],
  fr: ['le', 'la', 'les', 'et', 'des', 'pour', 'nous', 'vous', 'est', 'merci', 'bonjour', 'cordialement', 'une', 'avec', 'pas', 'votre', 'envoi'],
  es: ['el', 'los', 'las', 'para', 'por', 'con', 'gracias', 'saludos', 'una', 'que', 'es', 'su', 'envío', 'estimado'],
  it: ['il', 'gli', 'di', 'per', 'con', 'grazie', 'saluti', 'che', 'non', 'una', 'spedizione', 'gentile'],
  pt: ['os', 'para', 'com', 'obrigado', 'obrigada', 'não', 'uma', 'que', 'prezado', 'envio'],
  // Hindi in Latin script, as Indian shippers and transporters write it.
  hi: [
    'hai',
    'hain',
    'ka',
    'ki',
    'ke',
    'ko',
    'kya',
    'nahi',
    'nahin',
    'bhai',
    'ji',
    'aap',
    'hum',
    'hamara',
    'humare',
    'hamare',
    'kar',
    'karo',
    'kijiye',
    'dijiye',
    'bata',
    'batao',
    'abhi',
    'tak',
    'aur',
    'se',
    'mein',
    'raha',
    'rahe',
    'rahi',
    'gaya',
    'gaye',
    'hoga',
    'warna',
    'jaldi',
    'dhanyavaad',
    'namaste',
    'diya',
    'kab',
    'kyun',
    'ek',
    'baar',
    'ya',
    'wala',
    'wale',
    'bhejo',
    'deni',
    'dena',
    'karna',
    'mushkil',
    'zyada',
    'din',
  ],
};

const SCRIPTS: Array<[RegExp, string]> = [
  [/\p{Script=Devanagari}/gu, 'hi'],
  [/\p{Script=Arabic}/gu, 'ar'],
  [/\p{Script=Han}/gu, 'zh'],
  [/\p{Script=Hiragana}|\p{Script=Katakana}/gu, 'ja'],
  [/\p{Script=Hangul}/gu, 'ko'],
  [/\p{Script=Cyrillic}/gu, 'ru'],
  [/\p{Script=Tamil}/gu, 'ta'],
  [/\p{Script=Gujarati}/gu, 'gu'],
  [/\p{Script=Bengali}/gu, 'bn'],
  [/\p{Script=Thai}/gu, 'th'],
  [/\p{Script=Greek}/gu, 'el'],
];

export function detectLanguage(text: string): string {
  const letters = (text.match(/\p{L}/gu) ?? []).length || 1;
  for (const [re, code] of SCRIPTS) {
    if ((text.match(re) ?? []).length / letters > 0.3) return code;
  }
  const words = text.toLowerCase().match(/[\p{L}]+/gu) ?? [];
  const counts: Record<string, number> = {};
  for (const [lang, list] of Object.entries(STOPWORDS)) {
    const set = new Set(list);
    counts[lang] = words.filter((w) => set.has(w)).length;
  }
  const en = counts.en ?? 0;
  let best = 'en';
  let bestCount = en;
  for (const [lang, n] of Object.entries(counts)) {
    if (lang === 'en') continue;
    // Romanised Hindi mixes in many English words ("container", "status", "pls"): a smaller share suffices.
    const needed = lang === 'hi' ? Math.max(3, en * 0.6) : Math.max(2, bestCount + 1);
    if (n >= needed && n > (lang === 'hi' ? 0 : bestCount)) {
      best = lang;
      bestCount = n;
    }
  }
  return best;
}

// ---- Summary ------------------------------------------------------------------------------------

const GREETING =
  /^(?:dear|hi|hello|hey|hallo|good\s+(?:morning|afternoon|evening|day)|greetings|namaste|namaskar|respected|to\s+whom|sir|madam|team|all|guten\s+tag|sehr\s+geehrte|beste|bonjour|ciao|hola)\b[^!?\n]{0,60}[,!.:]?$/i;
const UNINFORMATIVE_SUBJECT =
  /^(?:re|fw|fwd|hi|hello|docs?|documents?|rate|rates|query|request|update|urgent|important|status|info|information|reminder|follow[- ]?up|\(no subject\)|no subject)?$/i;
// "Sameer,", "Ramesh ji,", "Mr. Pradeep,": a name alone on the first line.
const SALUTATION = /^(?:(?:mr|mrs|ms|dr|shri|smt)\.?\s+)?[\p{L}.'-]+(?:\s+[\p{L}.'-]+){0,2}\s*,$/u;
// Abbreviations after which a full stop does not end the sentence.
const ABBREVIATION =
  /\b(?:no|nos|nr|mr|mrs|ms|dr|m\/s|pvt|ltd|co|inc|approx|incl|excl|dtd|dt|viz|vs|etc|e\.g|i\.e|st|ref|qty|wt|gr|kgs?|pcs|pkgs|ctns|max|min|jr|sr|vol|ft|hrs|a\.m|p\.m|u\.s|[a-z])\.$/i;

function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  if (space > max * 0.6) cut = cut.slice(0, space);
  return `${cut.replace(/[\s.,;:!?–-]+$/, '')}…`;
}

/** The first sentence with substance (greetings skipped), one line: it ends at a full stop that ends a sentence, at a line ending in ":" (a list follows) or at a paragraph end. */
function leadSentence(content: string): string {
  const lines = content.split('\n').map((l) => l.trim());
  let start = 0;
  while (start < lines.length && (!lines[start] || GREETING.test(lines[start]!) || SALUTATION.test(lines[start]!))) start++;
  let out = '';
  for (let i = start; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line) {
      if (out.length >= 20) break;
      continue;
    }
    for (const m of line.matchAll(/[.!?](?=\s|$)/g)) {
      const candidate = `${out} ${line.slice(0, m.index + 1)}`.trim();
      if (candidate.length >= 20 && !ABBREVIATION.test(candidate)) return candidate;
    }
    out = `${out} ${line}`.trim();
    if (out.length >= 20 && /:$/.test(line)) return out.replace(/:$/, '');
    if (out.length > SUMMARY_MAX) break;
  }
  return out;
}

export function summarize(prepared: PreparedText): string {
  const subject = prepared.subject.replace(/\s+/g, ' ').trim();
  const lead = leadSentence(prepared.content);
  const informative = subject.length >= 8 && !UNINFORMATIVE_SUBJECT.test(subject);
  let summary: string;
  if (!lead) summary = subject;
  else if (!informative) summary = lead;
  else summary = `${subject}: ${lead}`;
  return truncate(summary.replace(/[\r\n]+/g, ' '), SUMMARY_MAX) || '(empty message)';
}

// ---- The analyser -------------------------------------------------------------------------------

export function analyzeOffline(input: AnalysisInput): AnalysisResult {
  const prepared = prepare(input);
  const { intent } = classifyIntent(prepared);
  const sentiment = readSentiment(prepared);
  const urgency = readUrgency(prepared, intent, sentiment);
  const identifiers = extractIdentifiersFromMessage({ subject: input.subject, body: input.body });
  const entityText = `${prepared.subject}\n\n${prepared.content}`;
  const reference = input.date ?? new Date();
  return {
    intent,
    sentiment: sentiment.sentiment,
    sentimentScore: sentiment.score,
    urgency,
    summary: summarize(prepared),
    language: detectLanguage(prepared.content || prepared.subject),
    entities: {
      ...identifiers,
      ports: findPorts(entityText),
      dates: findDates(entityText, reference),
      incoterms: findIncoterms(entityText),
      hsCodes: findHsCodes(entityText),
    },
  };
}
