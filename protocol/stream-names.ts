/** Redis keys of the message streams; one namespace per queue so test runs never collide. */
export interface StreamNames {
  schedulerInbox: string;
  executorInbox(executorId: string): string;
}

export function streamNames(queueName: string, prefix = 'offer-invert'): StreamNames {
  return {
    schedulerInbox: `${prefix}:${queueName}:scheduler:inbox`,
    executorInbox: (executorId) => `${prefix}:${queueName}:executor:${executorId}:inbox`,
  };
}
