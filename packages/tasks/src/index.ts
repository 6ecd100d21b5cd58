export type { BullMQEngineOptions } from './bullmq-engine'
export { BullMQEngine } from './bullmq-engine'
export { MemoryEngine } from './memory-engine'
export { createTasks } from './tasks'
export type {
  Backoff,
  CloseOptions,
  DefineOptions,
  Definition,
  Engine,
  EngineHost,
  Listener,
  ListQuery,
  Percentiles,
  RetentionOptions,
  SubmitOptions,
  SubmitRequest,
  TaskContext,
  TaskError,
  TaskEvent,
  TaskEventName,
  TaskHandler,
  TaskInfo,
  TaskNameStats,
  TaskPage,
  TaskState,
  Tasks,
  TasksOptions,
  TasksStats,
} from './types'
export { FINISHED_STATES, TASK_STATES } from './types'
