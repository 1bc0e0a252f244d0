// Update shapes and the `allowed_updates` filter. Kept apart from the queue so tests and the load
// generator can build updates without touching server state.

/** A Bot API Update: `update_id` plus exactly one field naming its type (`message`, ...). */
export interface Update {
  readonly update_id: number;
  readonly [type: string]: unknown;
}

/** An update before the double assigns its `update_id`. */
export type UpdateBody = Readonly<Record<string, unknown>>;

/** Every update type `allowed_updates` can name (Bot API 7.x/8.x). */
export const UPDATE_TYPES: readonly string[] = [
  'message',
  'edited_message',
  'channel_post',
  'edited_channel_post',
  'business_connection',
  'business_message',
  'edited_business_message',
  'deleted_business_messages',
  'message_reaction',
  'message_reaction_count',
  'inline_query',
  'chosen_inline_result',
  'callback_query',
  'shipping_query',
  'pre_checkout_query',
  'purchased_paid_media',
  'poll',
  'poll_answer',
  'my_chat_member',
  'chat_member',
  'chat_join_request',
  'chat_boost',
  'removed_chat_boost',
];

/** Types a bot receives only when it names them explicitly (the Bot API's documented default). */
export const OPT_IN_UPDATE_TYPES: readonly string[] = ['chat_member', 'message_reaction', 'message_reaction_count'];

/** The filter in force until a client sends `allowed_updates`. */
export const DEFAULT_ALLOWED_UPDATES: ReadonlySet<string> = new Set(UPDATE_TYPES.filter((t) => !OPT_IN_UPDATE_TYPES.includes(t)));

/** The type of an update: its first field other than `update_id`. */
export function updateType(update: UpdateBody): string | undefined {
  return Object.keys(update).find((k) => k !== 'update_id');
}

/**
 * Parses an `allowed_updates` argument (always a string by now: JSON text). Returns undefined
 * when the argument is absent, empty or unparseable — the server then keeps the previous
 * setting. An array with no known type (including `[]`) means the default set.
 */
export function parseAllowedUpdates(raw: string | undefined): ReadonlySet<string> | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  const known = new Set(value.filter((v): v is string => typeof v === 'string' && UPDATE_TYPES.includes(v)));
  return known.size === 0 ? DEFAULT_ALLOWED_UPDATES : known;
}

/** Options for {@link textUpdate}. */
export interface TextUpdateOptions {
  readonly chatId?: number;
  readonly messageId?: number;
  /** Unix seconds. */
  readonly date?: number;
}

/** A private-chat text message update body, the common case for tests and load. */
export function textUpdate(text: string, opts: TextUpdateOptions = {}): UpdateBody {
  const chatId = opts.chatId ?? 424242;
  const user = { id: chatId, is_bot: false, first_name: 'Tester', language_code: 'en' };
  return {
    message: {
      message_id: opts.messageId ?? 1,
      from: user,
      chat: { id: chatId, first_name: 'Tester', type: 'private' },
      date: opts.date ?? Math.floor(Date.now() / 1000),
      text,
    },
  };
}
