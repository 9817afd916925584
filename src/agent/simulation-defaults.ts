// `vigil simulate` defaults, apart from the simulator so that the command's help loads without it.
export const defaultMaxRounds = 10;
export const defaultConcurrency = 8;
