// Bot API methods other than the polling core: plausible results so frameworks start and handlers
// can reply, and a record of what was sent. Names are matched lower-cased, as the server does.
import type { Accounting } from './accounting.ts';
import type { BotState } from './bot.ts';
import type { Params } from './params.ts';
import { callInfo, fail, ok, type ApiReply, type PendingCall } from './reply.ts';

/** What a method handler gets. */
export interface MethodContext {
  readonly bot: BotState;
  readonly call: PendingCall;
  readonly params: Params;
  readonly accounting: Accounting;
  readonly now: () => number;
  /** The next message_id for this bot's sent messages. */
  readonly nextMessageId: () => number;
}

/** A method handler; `undefined` means it answers `call` itself (getUpdates may answer later). */
export type MethodHandler = (ctx: MethodContext) => ApiReply | undefined;

/** The bot's own user, derived from the token's numeric part. */
export function botUser(token: string): Record<string, unknown> {
  const id = Number(token.split(':')[0]) || 1;
  return { id, is_bot: true, first_name: 'Double', username: `double_${id}_bot` };
}

const unixNow = (): number => Math.floor(Date.now() / 1000);

function chatFor(chatId: string): Record<string, unknown> {
  const numeric = Number(chatId);
  if (Number.isInteger(numeric) && numeric > 0) return { id: numeric, first_name: 'Tester', type: 'private' };
  if (Number.isInteger(numeric)) return { id: numeric, title: 'Group', type: chatId.startsWith('-100') ? 'supergroup' : 'group' };
  return { id: -1001000000000, title: chatId.replace(/^@/, ''), username: chatId.replace(/^@/, ''), type: 'channel' };
}

/** Handles sendMessage and the other send*: a Message result, recorded in the ledger. */
function sendSomething(kind: string): MethodHandler {
  return ({ bot, call, params, accounting, now, nextMessageId }) => {
    const chatId = params.get('chat_id') ?? '';
    if (chatId.trim() === '') return fail(400, 'Bad Request: chat_id is empty');
    const text = params.get('text') ?? params.get('caption') ?? '';
    if (kind === 'sendmessage' && text.trim() === '') return fail(400, 'Bad Request: message text is empty');
    const messageId = nextMessageId();
    accounting.recordSent({ ...callInfo(call), at: now(), method: kind, chatId, text, messageId, params: Object.fromEntries(params) });
    const message: Record<string, unknown> = { message_id: messageId, from: botUser(bot.token), chat: chatFor(chatId), date: unixNow() };
    if (kind === 'sendmessage') message.text = text;
    else if (text !== '') message.caption = text;
    return ok(message);
  };
}

/** Handles edits: the edited Message (or true for inline messages). */
const editMessage: MethodHandler = ({ bot, params }) => {
  if (params.has('inline_message_id')) return ok(true);
  const message: Record<string, unknown> = {
    message_id: Number(params.get('message_id') ?? '1') || 1,
    from: botUser(bot.token),
    chat: chatFor(params.get('chat_id') ?? '1'),
    date: unixNow(),
    edit_date: unixNow(),
  };
  const text = params.get('text');
  if (text !== undefined) message.text = text;
  return ok(message);
};

const returnsTrue: MethodHandler = () => ok(true);

const TRUE_METHODS = [
  'answercallbackquery',
  'answerinlinequery',
  'answerprecheckoutquery',
  'answershippingquery',
  'approvechatjoinrequest',
  'banchatmember',
  'close',
  'declinechatjoinrequest',
  'deletemessage',
  'deletemessages',
  'deletemycommands',
  'leavechat',
  'logout',
  'pinchatmessage',
  'promotechatmember',
  'restrictchatmember',
  'sendchataction',
  'setchatdescription',
  'setchatmenubutton',
  'setchattitle',
  'setmessagereaction',
  'setmycommands',
  'setmydefaultadministratorrights',
  'setmydescription',
  'setmyname',
  'setmyshortdescription',
  'unbanchatmember',
  'unpinallchatmessages',
  'unpinchatmessage',
];

const SEND_METHODS = [
  'sendmessage',
  'sendphoto',
  'senddocument',
  'sendaudio',
  'sendvideo',
  'sendanimation',
  'sendvoice',
  'sendvideonote',
  'sendsticker',
  'sendlocation',
  'sendvenue',
  'sendcontact',
  'senddice',
  'sendpoll',
  'forwardmessage',
  'copymessage',
];

/** Every method the double answers, keyed by lower-cased name. */
export const METHODS: ReadonlyMap<string, MethodHandler> = new Map<string, MethodHandler>([
  [
    'getme',
    ({ bot }) =>
      ok({
        ...botUser(bot.token),
        can_join_groups: true,
        can_read_all_group_messages: false,
        supports_inline_queries: false,
        can_connect_to_business: false,
        has_main_web_app: false,
      }),
  ],
  [
    'getupdates',
    ({ bot, call, params }) => {
      bot.getUpdates(call, params);
      return undefined;
    },
  ],
  ['setwebhook', ({ bot, params }) => bot.setWebhook(params, true)],
  ['deletewebhook', ({ bot, params }) => bot.setWebhook(params, false)],
  ['getwebhookinfo', ({ bot }) => ok(bot.webhookInfo())],
  ['getchat', ({ params }) => ok({ ...chatFor(params.get('chat_id') ?? '1'), accent_color_id: 0, max_reaction_count: 11 })],
  ['getchatmember', ({ params }) => ok({ status: 'member', user: { id: Number(params.get('user_id') ?? '1') || 1, is_bot: false, first_name: 'Tester' } })],
  ['getchatmembercount', () => ok(1)],
  ['getchatadministrators', () => ok([])],
  ['getmycommands', () => ok([])],
  ['getmyname', () => ok({ name: 'Double' })],
  ['getmydescription', () => ok({ description: '' })],
  ['getmyshortdescription', () => ok({ short_description: '' })],
  ['getchatmenubutton', () => ok({ type: 'default' })],
  ['getuserprofilephotos', () => ok({ total_count: 0, photos: [] })],
  ['getfile', ({ params }) => ok({ file_id: params.get('file_id') ?? '', file_unique_id: 'double', file_size: 0, file_path: 'documents/file_0' })],
  ['editmessagetext', editMessage],
  ['editmessagecaption', editMessage],
  ['editmessagereplymarkup', editMessage],
  ...TRUE_METHODS.map((m): [string, MethodHandler] => [m, returnsTrue]),
  ...SEND_METHODS.map((m): [string, MethodHandler] => [m, sendSomething(m)]),
]);
