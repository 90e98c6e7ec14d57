export * from './scrape';
