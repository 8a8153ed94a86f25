import { type Channel, type ChannelModel, connect } from 'amqplib'

export const AMQP_URL = process.env.CONVEYOR_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672'

/** A raw amqplib connection, to check side effects without the adapter under test. */
export async function rawChannel(url = AMQP_URL): Promise<{ channel: Channel; close(): Promise<void> }> {
  const model: ChannelModel = await connect(url)
  model.on('error', () => {})
  const channel = await model.createChannel()
  channel.on('error', () => {})
  return { channel, close: () => model.close().catch(() => {}) }
}
