export * from './builders';
export * from './expect-rejected';
